// A sandbox whose warm calls answer from memory with the envelope the runtimes print (`{"ok": true}` as the
// result): a whole host measured with it costs only the host's own path (HTTP, job records, worker, executor),
// not a runtime's, Docker's or an instance's. Used by bench/engine-layer.mjs and bench/latency-layers.mjs.

const ENVELOPE = '\u001eNANOGRID_RESULT {"ok":true,"result":{"ok":true}}\n';

/**
 * @param {string} bench the script's name, for the error of a cold run (only warm calls are measured)
 * @param {number} [delayMs] how long each warm call takes (a timer); 0 answers at once
 */
export function instantSandbox(bench, delayMs = 0) {
  return {
    name: 'instant',
    isolated: true,
    async run() {
      throw new Error(`${bench}: only warm calls are measured`);
    },
    async runWarm() {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return {
        exitCode: 0,
        signal: null,
        stdout: ENVELOPE,
        stderr: '',
        stdoutTruncated: false,
        stderrTruncated: false,
        timedOut: false,
        oomKilled: false,
        durationMs: 0.1,
        start: 'warm',
        outputCount: 0,
      };
    },
  };
}
