import { NanoGridError, toNanoGridError } from '../errors.js';

export type ProbeResult =
  | { status: 'ok'; latency_ms: number }
  | { status: 'failing'; error: { code: string; message: string } };

/** Runs a health check with a deadline: ok with its latency, or failing with the error's code and message. */
export async function probe(check: () => Promise<unknown>, timeoutMs: number, plugin?: string): Promise<ProbeResult> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new NanoGridError('BACKEND_UNAVAILABLE', `no answer to its check within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([check(), deadline]);
    return { status: 'ok', latency_ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    const e = toNanoGridError(err, 'BACKEND_UNAVAILABLE', plugin);
    return { status: 'failing', error: { code: e.code, message: e.message } };
  } finally {
    clearTimeout(timer);
  }
}
