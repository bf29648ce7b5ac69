import type { Readable, Writable } from 'node:stream';
import { LOG_MARKER, META_MARKER, RESULT_MARKER } from '../plugins/runtime-plugin.js';
import type { OutputListener, WarmRunResult } from '../plugins/sandbox.js';
import { LineSplitter } from './line-splitter.js';

const LOG_BYTES = Buffer.from(LOG_MARKER);
/** Log frame bytes read per call (JSON-escaped text: twice the servers' 16 MiB of live output, with room). */
const LOG_BUDGET_BYTES = 32 * 1024 * 1024;

/** What a warm server reports before each result line. */
export interface WarmMeta {
  /** What the handler printed during this call. */
  logs?: string;
  /** Files left in the output directory. */
  outputs?: number;
  /**
   * Bytes of the call's stderr the host had not read from its pipe when the server answered (0: all of it read;
   * absent: the server ends each call's stderr with STDERR_END instead). See WarmStderr.
   */
  stderr?: number;
  /** Exec server (compiled runtimes): the program's exit code, and the signal that killed it. */
  exit?: number | null;
  signal?: string | null;
  /** Exec server: the program's whole stdout (its result under the `stdout` protocol). */
  stdout?: string;
  /** Exec server: the program's peak resident memory, bytes (its own, from wait4). */
  maxrss?: number;
  /** Exec server: the program was killed by the kernel for memory. */
  oom?: boolean;
  /** Exec server: `stdout` holds only the head of what the program wrote. */
  truncated?: boolean;
}

/** How one call over the channel ended. */
export type WarmExchange =
  | { kind: 'answered'; meta: WarmMeta; resultLine: string }
  /** The server wrote something that is not the protocol: it can no longer be trusted. */
  | { kind: 'garbage'; message: string }
  /** The server's stdout ended: it was killed (deadline, memory) or it crashed. */
  | { kind: 'ended' };

/**
 * The line protocol of a warm server (see runtime-python's serve.py): one
 * `{"env": {...}}` line in (with `"stderr_end": true` when the call's stderr must end with a mark); any number of `LOG_MARKER "<chunk>"` lines while
 * the call runs (its live stdout), then one `META_MARKER {...}` line and one
 * `RESULT_MARKER {...}` line out. Shared by the Docker and process pools.
 */
export class WarmChannel {
  private readonly lines: string[] = [];
  private waiter: ((line: string | undefined) => void) | undefined;
  /** The current call's live-output listener. */
  private onOutput: OutputListener | undefined;
  /** Bytes of log frames the current call sent. */
  private logBytes = 0;
  /** Why the channel can no longer be trusted although its stream may still flow (a line over the cap). */
  private fault: string | undefined;
  /** Lines waiting to go out with the next request (sendWithNext). */
  private held: string | undefined;
  ended = false;

  /**
   * @param maxLineBytes Longest line read from the server (the exec server's META carries up to 8 MiB of a
   *   program's stdout as a JSON string); past it the instance is garbage. @default 64 MiB
   * @param stderrEnd Each request asks the server to end the call's stderr with STDERR_END (`"stderr_end": true`):
   *   for a stderr the host cannot read as a pipe of its own (see WarmStderr). @default false
   */
  constructor(
    stdout: Readable,
    private readonly stdin: Writable,
    maxLineBytes = 64 * 1024 * 1024,
    private readonly stderrEnd = false,
  ) {
    const splitter = new LineSplitter(
      maxLineBytes,
      (bytes) => {
        // Log frames go to the call's listener and are never queued: one that comes late is dropped.
        if (bytes.length >= LOG_BYTES.length && LOG_BYTES.equals(bytes.subarray(0, LOG_BYTES.length)))
          return this.log(bytes);
        const line = bytes.toString('utf8');
        const w = this.waiter;
        this.waiter = undefined;
        if (w) w(line);
        else this.lines.push(line);
      },
      () => {
        this.fault = `the warm instance wrote a line over ${maxLineBytes} bytes`;
        this.end();
      },
    );
    stdout.on('data', (chunk: Buffer | string) =>
      splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk),
    );
    stdout.once('end', () => {
      splitter.flush();
      this.end();
    });
    stdout.once('close', () => this.end());
    stdout.on('error', () => this.end()); // the server is gone: the call sees `ended`
    stdin.on('error', () => {
      // EPIPE: the server died; its stdout ends too and the call sees `ended`.
    });
  }

  /** Marks the server gone (its stream closed or errored): a pending read resolves as ended. */
  end(): void {
    this.ended = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.(undefined);
  }

  /** Sends a line as is, after the line `sendWithNext` held back, in one write. */
  send(value: unknown): void {
    const line = `${JSON.stringify(value)}\n`;
    const held = this.held;
    this.held = undefined;
    this.stdin.write(held === undefined ? line : held + line);
  }

  /**
   * Holds a line (a prewarmed starter's `{"env": ...}`) to go out in one write with the next call's request:
   * the server reads both on one wake-up instead of loading while the host is still writing the second.
   */
  sendWithNext(value: unknown): void {
    this.held = `${this.held ?? ''}${JSON.stringify(value)}\n`;
  }

  /** Sends one invocation and reads its two answer lines; log frames meanwhile go to `onOutput`. */
  async call(env: Record<string, string>, onOutput?: OutputListener): Promise<WarmExchange> {
    if (this.fault) return { kind: 'garbage', message: this.fault };
    this.logBytes = 0;
    const stale = this.lines.shift();
    if (stale !== undefined)
      return { kind: 'garbage', message: `the warm instance wrote between calls: ${stale.slice(0, 200)}` };
    this.onOutput = onOutput;
    try {
      return await this.exchange(env);
    } finally {
      this.onOutput = undefined;
    }
  }

  private log(frame: Buffer): void {
    const listener = this.onOutput;
    if (!listener) return;
    // A server sends at most 16 MiB of live output per call; past the budget frames are dropped unread, so a
    // function writing frames to the protocol's fd cannot keep the host's event loop parsing JSON.
    this.logBytes += frame.length;
    if (this.logBytes > LOG_BUDGET_BYTES) return;
    let chunk: unknown;
    try {
      chunk = JSON.parse(frame.toString('utf8', LOG_BYTES.length));
    } catch {
      return; // a broken frame loses a piece of live output, never the call
    }
    if (typeof chunk === 'string' && chunk !== '') listener('stdout', chunk);
  }

  private async exchange(env: Record<string, string>): Promise<WarmExchange> {
    this.send(this.stderrEnd ? { env, stderr_end: true } : { env });
    const first = await this.next();
    if (first === undefined) return this.gone();
    if (!first.startsWith(META_MARKER))
      return {
        kind: 'garbage',
        message: `the warm instance wrote a line that is not the protocol's: ${first.slice(0, 200)}`,
      };
    const second = await this.next();
    if (second === undefined) return this.gone();
    if (!second.startsWith(RESULT_MARKER))
      return {
        kind: 'garbage',
        message: `the warm instance wrote a line that is not a result: ${second.slice(0, 200)}`,
      };
    try {
      return { kind: 'answered', meta: JSON.parse(first.slice(META_MARKER.length)) as WarmMeta, resultLine: second };
    } catch (err) {
      return { kind: 'garbage', message: `the warm instance's answer could not be read: ${(err as Error).message}` };
    }
  }

  private gone(): WarmExchange {
    return this.fault ? { kind: 'garbage', message: this.fault } : { kind: 'ended' };
  }

  private next(): Promise<string | undefined> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.waiter = resolve));
  }
}

/**
 * What a cold run would have reported for an answered call, so both paths are
 * read by the same `interpretRun`: the stdout is logs then the envelope line,
 * or (exec server) the program's own stdout, exit code and signal.
 */
export function answeredRun(
  meta: WarmMeta,
  resultLine: string,
): Pick<WarmRunResult, 'exitCode' | 'signal' | 'oomKilled' | 'stdout' | 'stdoutTruncated' | 'outputCount'> {
  const logs = meta.logs ?? '';
  return {
    // A program killed by a signal has no exit code (reading 0 there turned an OOM kill into a success).
    exitCode: meta.signal ? null : (meta.exit ?? 0),
    signal: meta.signal ?? null,
    oomKilled: meta.oom === true,
    stdout: meta.stdout ?? `${logs}${logs && !logs.endsWith('\n') ? '\n' : ''}${resultLine}\n`,
    stdoutTruncated: meta.truncated === true,
    outputCount: meta.outputs ?? 0,
  };
}
