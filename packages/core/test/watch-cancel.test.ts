import { describe, expect, it } from 'vitest';
import { memoryResults } from '../src/defaults/memory-results.js';
import { watchCancel } from '../src/engine/watch-cancel.js';
import type { ResultSink } from '../src/plugins/result-sink.js';
import { fixedRecord } from '../src/testing/helpers.js';

const record = fixedRecord;

const cancelled = (id: string) =>
  record(id, { status: 'cancelled', error: { code: 'CANCELLED', message: 'the job was cancelled' } });

// The same store watched both ways: through onFinal (memory, SQLite) and through `wait` (a store without it, Redis).
describe.each([
  { how: 'onFinal', hide: false },
  { how: 'wait', hide: true },
])('watchCancel through $how', ({ hide }) => {
  const setup = async (id: string) => {
    const sink = memoryResults();
    const results: ResultSink = hide ? { ...sink, onFinal: undefined } : sink;
    await sink.create(record(id));
    await sink.update(id, { status: 'running' });
    return { sink, watch: watchCancel(results, id) };
  };

  it('a cancel published for the running job aborts the run signal', async () => {
    const { sink, watch } = await setup('c1');
    const aborted = new Promise<void>((resolve) => watch.signal.addEventListener('abort', () => resolve()));
    expect(watch.signal.aborted).toBe(false);
    await sink.publish(cancelled('c1'));
    await aborted;
    expect(watch.signal.aborted).toBe(true);
    watch.stop();
    expect(sink.waiting()).toBe(0);
  });

  it("the run's own final record does not abort it, and stop() leaves nothing listening", async () => {
    const { sink, watch } = await setup('c2');
    await sink.publish(record('c2', { status: 'completed', result: 1 }));
    await new Promise((r) => setImmediate(r));
    watch.stop();
    expect(watch.signal.aborted).toBe(false);
    expect(sink.waiting()).toBe(0);
  });

  it('a cancel of another job does not reach this run', async () => {
    const { sink, watch } = await setup('c3');
    await sink.create(record('other'));
    await sink.publish(cancelled('other'));
    await new Promise((r) => setImmediate(r));
    expect(watch.signal.aborted).toBe(false);
    await sink.publish(record('c3', { status: 'completed' }));
    watch.stop();
  });
});

describe('watchCancel through onFinal', () => {
  it('stop() before any final record releases the listener at once (no grace timer)', async () => {
    const sink = memoryResults();
    await sink.create(record('s'));
    const watch = watchCancel(sink, 's');
    expect(sink.waiting()).toBe(1);
    watch.stop();
    expect(sink.waiting()).toBe(0);
    await sink.publish(cancelled('s'));
    expect(watch.signal.aborted).toBe(false);
  });

  it('a store whose onFinal throws loses only the watch: the run gets a signal that never aborts', () => {
    const sink = memoryResults();
    const broken: ResultSink = {
      ...sink,
      onFinal: () => {
        throw new Error('store down');
      },
    };
    const watch = watchCancel(broken, 'x');
    expect(watch.signal.aborted).toBe(false);
    watch.stop();
  });
});
