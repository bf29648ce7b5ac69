import { expect, it } from 'vitest';
import type { PreparedFixture, RuntimeHarness } from './test-runtime.js';

/** Resident memory of the warm server (the shell's parent), kB. */
const RSS = 'sed -n "s/^VmRSS:[[:space:]]*\\([0-9]*\\) kB/\\1/p" /proc/$PPID/status';
/** Distinct events of this size: each one would stay behind if the server leaked its PAYLOAD strings. */
const EVENT_BYTES = 60 * 1024;
const CALLS = 200;

/**
 * A warm server sets each call's names (PAYLOAD, JOB_ID, ...) per call: a
 * child process of the call sees that call's values, and the instance does
 * not keep the values of earlier calls (setenv(3) in glibc keeps every string
 * it made, so an instance that used it grew by each event's size until its
 * memory limit killed it). Warm mode only.
 */
export function envCases(h: RuntimeHarness): void {
  if (h.mode !== 'warm') return;

  it("a warm call's child process sees that call's JOB_ID and PAYLOAD; the instance keeps no earlier call's", async () => {
    const prepared = await h.prepare(h.fixtures.shell);
    const sh = async (p: PreparedFixture, payload: Record<string, unknown>) => {
      const outcome = await h.call(p, payload);
      const result = h.expectOk(outcome) as { out: string; code: number };
      expect(result.code).toBe(0);
      return { jobId: outcome.jobId, out: result.out.trim() };
    };
    const seen = await sh(prepared, { sh: 'printf "%s|%s" "$JOB_ID" "$PAYLOAD"', mark: 'first' });
    expect(seen.out.split('|')[0]).toBe(seen.jobId);
    expect(JSON.parse(seen.out.slice(seen.out.indexOf('|') + 1))).toMatchObject({ mark: 'first' });
    const again = await sh(prepared, { sh: 'printf "%s|%s" "$JOB_ID" "$PAYLOAD"', mark: 'second' });
    expect(again.out.split('|')[0]).toBe(again.jobId);
    expect(JSON.parse(again.out.slice(again.out.indexOf('|') + 1))).toMatchObject({ mark: 'second' });

    const events = async (from: number) => {
      for (let i = from; i < from + CALLS; i++)
        await sh(prepared, { sh: 'true', pad: `${i}-${'x'.repeat(EVENT_BYTES)}` });
    };
    await events(0); // a garbage-collected heap grows to its working size first
    const before = Number((await sh(prepared, { sh: RSS })).out);
    expect(before).toBeGreaterThan(0);
    await events(CALLS);
    const after = Number((await sh(prepared, { sh: RSS })).out);
    // Kept strings would be at least CALLS x EVENT_BYTES (11.7 MiB). A garbage-collected heap still growing
    // towards its working size was measured at up to 4 MiB here.
    expect(after - before, `resident memory grew from ${before} to ${after} kB`).toBeLessThan(
      ((CALLS * EVENT_BYTES) / 1024) * 0.75,
    );
  });
}
