/**
 * When a warm instance's peak-memory meter is reset (`clear_refs`, a cgroup's
 * high-water mark): between two calls, off the answer's path. Once a call's
 * peak was read, the reset waits one event-loop turn, so the answer goes out
 * first (a `clear_refs` write costs ~5 µs, a cgroup's ~2 µs); a call that
 * starts before that resets it itself. What an idle instance allocates between
 * the reset and its next call counts in that call's peak: it can only
 * overstate, never hide, a call's memory.
 */
export class PeakRearm {
  /** Reset since the last call's peak was read. */
  private armed = false;

  /**
   * @param reset Resets the meter (never throws).
   * @param idle True while the instance has no call and is alive: only then is it reset between calls.
   */
  constructor(
    private readonly reset: () => void,
    private readonly idle: () => boolean,
  ) {}

  /** At a call's start: resets now unless that was done since the last call. */
  beforeCall(): void {
    if (!this.armed) this.reset();
    this.armed = false;
  }

  /** Once the call's peak was read: resets for the next call, after the answer went out. */
  afterRead(): void {
    setImmediate(() => {
      if (this.armed || !this.idle()) return; // a call running now reset it when it started
      this.reset();
      this.armed = true;
    });
  }
}
