import type { Redis } from 'ioredis';
import type { RedisLink } from './connection.js';

/** What a listener hears on its channel. */
export interface ChannelListener {
  message(payload: string): void;
  /**
   * The subscriber connection came back after a drop: messages published
   * meanwhile were lost, so the listener should read the state again.
   */
  resumed(): void;
}

interface Channel {
  listeners: Set<ChannelListener>;
  /** Settles when Redis confirmed the SUBSCRIBE. */
  subscribed: Promise<void>;
}

/**
 * One pub/sub connection shared by every waiter of a plugin instance, with a
 * reference count per channel: the first listener subscribes, the last one
 * unsubscribes. Commands on one connection run in order, so an UNSUBSCRIBE
 * followed by a new SUBSCRIBE of the same channel ends subscribed.
 */
export class ChannelSubscriber {
  private conn: Promise<Redis> | undefined;
  private readonly channels = new Map<string, Channel>();
  private closed = false;

  constructor(private readonly link: RedisLink) {}

  /** Resolves once the subscription is active; returns the function that removes the listener. */
  async listen(channel: string, listener: ChannelListener): Promise<() => void> {
    let ch = this.channels.get(channel);
    if (!ch) {
      const sub = await this.connection();
      ch = this.channels.get(channel); // another listener may have subscribed while we waited
      if (!ch) {
        const created: Channel = { listeners: new Set(), subscribed: this.subscribe(sub, channel) };
        this.channels.set(channel, (ch = created));
        created.subscribed.catch(() => {
          if (this.channels.get(channel) === created) this.channels.delete(channel);
        });
      }
    }
    const joined = ch;
    joined.listeners.add(listener);
    const leave = () => {
      if (!joined.listeners.delete(listener) || joined.listeners.size > 0) return;
      if (this.channels.get(channel) !== joined) return;
      this.channels.delete(channel);
      void this.conn?.then((c) => c.unsubscribe(channel)).catch(() => undefined);
    };
    try {
      await joined.subscribed;
    } catch (err) {
      leave();
      throw this.link.error(err);
    }
    return leave;
  }

  /** Listeners currently registered (for leak checks). */
  size(): number {
    let n = 0;
    for (const ch of this.channels.values()) n += ch.listeners.size;
    return n;
  }

  close(): void {
    this.closed = true;
    this.channels.clear();
    void this.conn?.then((c) => this.link.drop(c)).catch(() => undefined);
  }

  private async subscribe(sub: Redis, channel: string): Promise<void> {
    await this.link.ready(sub);
    await sub.subscribe(channel);
  }

  private connection(): Promise<Redis> {
    if (!this.conn) {
      const opening = this.link.connection().then((c) => this.attach(c));
      // A failed open is not cached: the next waiter tries again.
      opening.catch(() => {
        if (this.conn === opening) this.conn = undefined;
      });
      this.conn = opening;
    }
    return this.conn;
  }

  private attach(c: Redis): Redis {
    c.on('message', (channel: string, payload: string) => {
      for (const l of [...(this.channels.get(channel)?.listeners ?? [])]) l.message(payload);
    });
    // The first 'ready' has fired already (connection() waits for it): every later one is a reconnect.
    c.on('ready', () => {
      if (this.closed) return;
      // ioredis resubscribes by itself; subscribe again and wait for it, so the
      // re-read below cannot fall between a publish and the subscription.
      const names = [...this.channels.keys()];
      if (names.length === 0) return;
      c.subscribe(...names).then(
        () => {
          for (const name of names) for (const l of [...(this.channels.get(name)?.listeners ?? [])]) l.resumed();
        },
        () => undefined,
      );
    });
    return c;
  }
}
