// The worker's total cap of warm instances: an idle instance of another function makes room for a start, and its
// removal runs beside the start (a prewarmed instance is adopted at once) without letting the cap be passed.
import { describe, expect, it, vi } from 'vitest';
import {
  type EvictedRemoval,
  isNanoGridError,
  type StartKind,
  type WarmInstance,
  WarmPoolBase,
  type WarmRunSpec,
} from '../src/index.js';

interface Fake extends WarmInstance {
  id: number;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A pool whose instances are objects; `adopt` starts take a ready-made one, others create one once the evicted is gone. */
class FakePool extends WarmPoolBase<Fake> {
  protected readonly plugin = 'fake';
  readonly events: string[] = [];
  /** Removals in progress, resolved by the test. */
  readonly removals = new Map<number, () => void>();
  /** Instances that exist (created or adopted, not yet removed): never more than the cap plus adopted ones. */
  alive = 0;
  maxAlive = 0;
  /** Set when the test is over: removals finish at once. */
  autoRemove = false;
  private next = 0;

  protected async start(spec: WarmRunSpec, evicted: EvictedRemoval): Promise<{ instance: Fake; start: StartKind }> {
    const instance: Fake = { id: ++this.next, key: spec.key, busy: false, dead: false, lastUsed: Date.now() };
    if (spec.image !== 'adopt') {
      await evicted();
      this.alive++;
      this.maxAlive = Math.max(this.maxAlive, this.alive);
    }
    this.events.push(`start ${spec.key}`);
    return { instance, start: spec.image === 'adopt' ? 'prewarmed' : 'cold' };
  }

  /** A call waits for this while it is set (a long first call). */
  callGate: Promise<void> | undefined;

  protected async call(i: Fake, spec: WarmRunSpec): Promise<Omit<import('../src/index.js').WarmRunResult, 'start'>> {
    this.events.push(`call ${spec.key}`);
    await this.callGate;
    return {
      exitCode: 0,
      signal: null,
      stdout: String(i.id),
      stderr: '',
      stdoutTruncated: false,
      stderrTruncated: false,
      timedOut: false,
      oomKilled: false,
      durationMs: 0,
    };
  }

  protected destroy(i: Fake): Promise<void> {
    this.events.push(`removing ${i.key}`);
    const d = deferred();
    this.removals.set(i.id, d.resolve);
    if (this.autoRemove) d.resolve();
    return d.promise.then(() => {
      this.alive--;
      this.events.push(`removed ${i.key}`);
    });
  }
}

/** Lets every removal finish, then closes the pool. */
async function finish(pool: FakePool): Promise<void> {
  pool.autoRemove = true;
  for (const done of pool.removals.values()) done();
  await pool.close();
}

function spec(key: string, image = 'create'): WarmRunSpec {
  return {
    key,
    image,
    serveCommand: ['serve'],
    invocationEnv: {},
    codeDir: '/code',
    outputDir: '/out',
    env: {},
    timeoutMs: 1000,
    memoryMb: 128,
    network: 'none',
  };
}

describe('warm pool: making room at the total cap', () => {
  it('adopts a prewarmed instance at once and removes the evicted one after that first call', async () => {
    const pool = new FakePool({ maxTotal: 1 });
    await pool.run(spec('a'));
    const second = await pool.run(spec('b', 'adopt'));
    // b was served before a's removal began: that removal no longer sits in (or competes with) b's first call.
    expect(second.start).toBe('prewarmed');
    expect(pool.events).toEqual(['start a', 'call a', 'start b', 'call b']);
    expect(pool.size).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(pool.events).toEqual(['start a', 'call a', 'start b', 'call b', 'removing a']);
    await finish(pool);
  });

  it('an evicted instance is removed within 500 ms even while the first call it made room for still runs', async () => {
    // Out of the pool, it is out of the idle watchdogs (CPU, memory between calls): it must not outlive a long call.
    const pool = new FakePool({ maxTotal: 1 });
    await pool.run(spec('a'));
    const gate = deferred();
    pool.callGate = gate.promise;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const second = pool.run(spec('b', 'adopt'));
      await vi.waitFor(() => expect(pool.events).toContain('call b'));
      expect(pool.events).not.toContain('removing a');
      vi.advanceTimersByTime(500);
      expect(pool.events).toContain('removing a');
      gate.resolve();
      expect((await second).start).toBe('prewarmed');
      await new Promise((r) => setImmediate(r));
      expect(pool.events.filter((e) => e === 'removing a')).toHaveLength(1); // removed once
    } finally {
      vi.useRealTimers();
      pool.callGate = undefined;
    }
    await finish(pool);
  });

  it('removes an evicted instance whose removal had not begun when the pool closes', async () => {
    const pool = new FakePool({ maxTotal: 1 });
    await pool.run(spec('a'));
    pool.autoRemove = true;
    const second = pool.run(spec('b', 'adopt'));
    await pool.close();
    expect(pool.events).toContain('removed a'); // close waited for it
    await second.catch(() => undefined);
  });

  it('creates a new instance only once the evicted one is gone', async () => {
    const pool = new FakePool({ maxTotal: 1 });
    await pool.run(spec('a'));
    const second = pool.run(spec('b'));
    await new Promise((r) => setImmediate(r));
    expect(pool.events).toEqual(['start a', 'call a', 'removing a']);
    pool.removals.get(1)?.();
    expect((await second).start).toBe('cold');
    expect(pool.events).toEqual(['start a', 'call a', 'removing a', 'removed a', 'start b', 'call b']);
    expect(pool.maxAlive).toBe(1);
    await finish(pool);
  });

  it('keeps the cap when starts race: the evicted place goes to one start, the other is refused', async () => {
    const pool = new FakePool({ maxTotal: 1 });
    await pool.run(spec('a'));
    const b = pool.run(spec('b'));
    const c = pool.run(spec('c')).catch((err: unknown) => err);
    const refused = await c;
    expect(isNanoGridError(refused) && refused.code).toBe('TOO_MANY_REQUESTS');
    pool.removals.get(1)?.();
    await b;
    expect(pool.maxAlive).toBe(1);
    expect(pool.events.filter((e) => e.startsWith('start'))).toEqual(['start a', 'start b']);
    await finish(pool);
  });
});
