import { readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { type Health, type Job, NanoGridClient } from '@nanogrid/client';
import type { DemoCase } from './demo-cases.js';

/** The demo's function name for an example: its file name, with the language when not Python (hello.mjs → hello-mjs). */
export function demoName(file: string): string {
  const ext = extname(file);
  const base = basename(file, ext);
  return ext === '.py' ? base : `${base}-${ext.slice(1)}`;
}

/** The demo talks to the host only over HTTP, through @nanogrid/client, as a user's script would. */
export class DemoClient {
  private readonly api: NanoGridClient;

  constructor(base: string) {
    this.api = new NanoGridClient({ url: base });
  }

  health(): Promise<Health> {
    return this.api.health();
  }

  /** Deploys an example; returns the reference to run it by (its name). */
  async deploy(dir: string, c: DemoCase): Promise<string> {
    const fn = await this.api.deploy({
      name: demoName(c.file),
      runtime: c.runtime,
      code: await readFile(join(dir, c.file)),
      fileName: basename(c.file),
      ...(c.handler ? { handler: c.handler } : {}),
      ...(c.timeout ? { timeout: c.timeout } : {}),
      ...(c.network ? { network: c.network } : {}),
    });
    return fn.function_name;
  }

  async run(fn: string, c: DemoCase): Promise<{ job: Job; ms: number }> {
    const started = performance.now();
    // Async: submit, then poll /status as the original test script does.
    const job =
      c.mode === 'async'
        ? await this.api.wait((await this.api.submit(fn, c.payload)).job_id, { intervalMs: 250 })
        : await this.api.run(fn, c.payload);
    return { job, ms: performance.now() - started };
  }

  /** Downloads an output link; returns its size in bytes. */
  async download(url: string): Promise<number> {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`output link answered ${res.status}`);
    return (await res.arrayBuffer()).byteLength;
  }
}
