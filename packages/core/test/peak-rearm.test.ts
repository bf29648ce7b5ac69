import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PeakRearm } from '../src/sandbox/peak-rearm.js';

describe('PeakRearm: a warm instance peak meter reset between calls', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function meter() {
    const state = { resets: 0, idle: true };
    const rearm = new PeakRearm(
      () => state.resets++,
      () => state.idle,
    );
    return { state, rearm };
  }

  it("resets at the first call's start, then one turn after each read, not again when the next call starts", () => {
    const { state, rearm } = meter();
    rearm.beforeCall();
    expect(state.resets).toBe(1);
    rearm.afterRead();
    expect(state.resets).toBe(1); // the answer goes out first
    vi.runAllTimers();
    expect(state.resets).toBe(2);
    rearm.beforeCall();
    expect(state.resets).toBe(2);
  });

  it('a call that starts before the deferred reset resets itself, and the deferred one leaves it alone', () => {
    const { state, rearm } = meter();
    rearm.beforeCall();
    rearm.afterRead();
    // The next call is handed the instance in the same turn.
    state.idle = false;
    rearm.beforeCall();
    expect(state.resets).toBe(2);
    vi.runAllTimers();
    expect(state.resets).toBe(2); // never in the middle of a call
    // That call ends: the reset for the one after it comes one turn later.
    state.idle = true;
    rearm.afterRead();
    vi.runAllTimers();
    rearm.beforeCall();
    expect(state.resets).toBe(3);
  });
});
