import type { Redis } from 'ioredis';
import type { RedisLink } from './connection.js';

/**
 * Runs blocking commands (XREADGROUP … BLOCK) on connections of their own:
 * a blocked command would stall every other command pipelined on a shared
 * connection. Connections are pooled so concurrent receives each get one.
 * Abort disconnects the connection in use, which ends the BLOCK at once; a
 * message the server handed out in that instant stays pending and is
 * reclaimed after the visibility timeout (at-least-once, nothing lost).
 */
export class BlockingReader {
  private readonly idle: Redis[] = [];
  private readonly busy = new Set<Redis>();
  private closed = false;

  constructor(private readonly link: RedisLink) {}

  /**
   * Sends one command. Resolves with the reply, or undefined when `signal`
   * aborted it or the reader was closed. Other failures reject with what
   * ioredis threw (the caller maps it).
   */
  async call(command: string, args: (string | number)[], signal?: AbortSignal): Promise<unknown> {
    if (signal?.aborted || this.closed) return undefined;
    const c = await this.take();
    if (signal?.aborted || this.closed) {
      this.give(c, true);
      return undefined;
    }
    this.busy.add(c);
    const onAbort = () => this.link.drop(c);
    signal?.addEventListener('abort', onAbort, { once: true });
    let broken = false;
    try {
      return await c.call(command, args);
    } catch (err) {
      broken = true;
      if (signal?.aborted || this.closed) return undefined;
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.busy.delete(c);
      this.give(c, broken || signal?.aborted === true);
    }
  }

  /** Ends pending calls (they resolve undefined) and closes every connection. */
  close(): void {
    this.closed = true;
    for (const c of [...this.busy, ...this.idle.splice(0)]) this.link.drop(c);
    this.busy.clear();
  }

  private async take(): Promise<Redis> {
    const pooled = this.idle.pop();
    if (pooled) {
      try {
        await this.link.ready(pooled);
        return pooled;
      } catch (err) {
        this.link.drop(pooled);
        throw err;
      }
    }
    return this.link.connection();
  }

  private give(c: Redis, discard: boolean): void {
    if (discard || this.closed || c.status === 'end') this.link.drop(c);
    else this.idle.push(c);
  }
}
