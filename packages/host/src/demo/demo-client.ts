import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DemoCase, DemoJob } from './demo-cases.js';

/** The demo talks to the host only over HTTP, as a user's script would. */
export class DemoClient {
  constructor(private readonly base: string) {}

  async health(): Promise<unknown> {
    return (await fetch(`${this.base}/health`)).json();
  }

  async deploy(dir: string, c: DemoCase): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([await readFile(join(dir, c.file))]), basename(c.file));
    form.append('function_name', c.file.replace(/\.\w+$/, ''));
    form.append('runtime', c.runtime);
    if (c.handler) form.append('handler', c.handler);
    if (c.timeout) form.append('timeout', String(c.timeout));
    if (c.network) form.append('network', c.network);
    const res = await fetch(`${this.base}/upload`, { method: 'POST', body: form });
    const body = (await res.json()) as { function_id?: string; error?: { code: string; message: string } };
    if (res.status !== 201 || !body.function_id)
      throw new Error(`upload of ${c.file} answered ${res.status}: ${body.error?.code}: ${body.error?.message}`);
    return body.function_id;
  }

  async run(functionId: string, c: DemoCase): Promise<{ job: DemoJob; http: number; ms: number }> {
    const started = performance.now();
    const res = await fetch(`${this.base}/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(c.mode === 'async' ? { 'x-async': 'true' } : {}) },
      body: JSON.stringify({ function_id: functionId, payload: c.payload }),
    });
    let job = (await res.json()) as DemoJob & { job_id: string };
    if (c.mode === 'async') {
      // Poll as the original test script does.
      while (job.status === 'pending' || job.status === 'running') {
        await new Promise((r) => setTimeout(r, 250));
        job = (await (await fetch(`${this.base}/status/${job.job_id}`)).json()) as DemoJob & { job_id: string };
      }
    }
    return { job, http: res.status, ms: performance.now() - started };
  }

  /** Downloads an output link; returns its size in bytes. */
  async download(url: string): Promise<number> {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`output link answered ${res.status}`);
    return (await res.arrayBuffer()).byteLength;
  }
}
