import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type HttpConfig,
  type LimitsConfig,
  type NanoGrid,
  type NanoGridConfig,
  type Sandbox,
  composeNanoGrid,
  fsStorage,
  memoryQueue,
  memoryResults,
  silentLogger,
} from '@nanogrid/core';
import type { Hono } from 'hono';
import { checkedByContract } from './contract.js';
import {
  type ControllerDeps,
  type HostTelemetry,
  createController,
  defaultRuntimes,
  hostTelemetry,
  sandboxPicker,
} from '../src/index.js';

/** The hello.py of the original system (the first NanoGrid, on AWS), unchanged: script mode, PAYLOAD in, stdout out. */
export const HELLO_PY = `import json
import os

payload = json.loads(os.environ.get("PAYLOAD", "{}"))
name = payload.get("name", "World")

print(json.dumps({"message": f"Hello, {name}!"}))
`;

export const FAIL_PY = `def handler(event, context):
    raise ValueError("divisor must not be zero")
`;

export const REPORT_PY = `import os

def handler(event, context):
    with open(os.path.join(os.environ["OUTPUT_DIR"], "report.txt"), "w") as f:
        f.write("rows=2\\n")
    return {"rows": 2}
`;

export const LOOP_PY = `def handler(event, context):
    while True:
        pass
`;

export interface TestHost {
  app: Hono;
  nanogrid: NanoGrid;
  /** Its presence heartbeat (not started: call `beat()`) and `GET /system` source. */
  telemetry: HostTelemetry;
  dir: string;
  close(): Promise<void>;
}

/**
 * The real engine behind the real HTTP API: memory queue + results, filesystem
 * storage in a fresh temp dir, the default runtimes, its worker running.
 * `config` overrides any of it (the sandbox above all); `controller` adds
 * controller options (http, limits …).
 */
export async function startTestHost(
  config: Partial<NanoGridConfig> & { sandbox: 'docker' | 'process' | Sandbox },
  controller: Partial<ControllerDeps> = {},
): Promise<TestHost> {
  const dir = await mkdtemp(
    join(tmpdir(), `nanogrid-${typeof config.sandbox === 'string' ? config.sandbox : config.sandbox.name}-host-`),
  );
  const nanogrid = await composeNanoGrid(
    {
      dataDir: join(dir, 'data'),
      storage: fsStorage({ dir: join(dir, 'storage'), publicUrl: 'http://files.test' }),
      queue: memoryQueue({ name: `q-${Math.random().toString(36).slice(2)}` }),
      results: memoryResults(),
      worker: { concurrency: 2, pollWaitMs: 1000 },
      runtimes: defaultRuntimes(),
      ...config,
    },
    { runtimes: [], cwd: dir, logger: silentLogger, pickSandbox: sandboxPicker() },
  );
  nanogrid.worker?.start();
  // Tests read /system right after changing what it shows: no shared checks between requests.
  const telemetry = hostTelemetry(nanogrid, {
    healthCacheMs: 0,
    ...(config.presence?.intervalMs !== undefined ? { intervalMs: config.presence.intervalMs } : {}),
  });
  // Every answer a test gets through this host is checked against the API's document.
  const app = checkedByContract(
    createController({
      registry: nanogrid.registry,
      jobs: nanogrid.jobs,
      storage: nanogrid.storage,
      logger: silentLogger,
      system: telemetry.system,
      ...controller,
    }),
  );
  return {
    app,
    nanogrid,
    telemetry,
    dir,
    async close() {
      await telemetry.presence.stop();
      await nanogrid.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A controller with a running worker on the process sandbox, so runs complete. */
export function makeHost(
  http: HttpConfig = {},
  extra: Partial<ControllerDeps> = {},
  limits: LimitsConfig = {},
): Promise<TestHost> {
  return startTestHost({ sandbox: 'process', limits }, { http, limits, ...extra });
}

export interface UploadFields {
  file?: { name: string; content: string | Buffer };
  function_name?: string;
  runtime?: string;
  handler?: string;
  timeout?: string;
  memory_mb?: string;
  disk_mb?: string;
  network?: string;
  env?: string;
  public?: string;
  http_event?: string;
  callback_url?: string;
  callback_format?: string;
}

export function uploadForm(fields: UploadFields): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (k === 'file') {
      const f = v as { name: string; content: string | Buffer };
      form.append('file', new Blob([typeof f.content === 'string' ? f.content : new Uint8Array(f.content)]), f.name);
    } else form.append(k, v as string);
  }
  return form;
}

export function upload(app: Hono, fields: UploadFields, headers: Record<string, string> = {}): Promise<Response> {
  return Promise.resolve(app.request('/upload', { method: 'POST', body: uploadForm(fields), headers }));
}

export function run(app: Hono, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return Promise.resolve(
    app.request('/run', {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    }),
  );
}

/** Deploys a Python function and returns its id. */
export async function deploy(
  app: Hono,
  name: string,
  source: string,
  extra: Partial<UploadFields> = {},
): Promise<string> {
  const res = await upload(app, {
    file: { name: `${name}.py`, content: source },
    function_name: name,
    runtime: 'python3.9',
    ...extra,
  });
  const body = (await res.json()) as { function_id: string };
  if (res.status !== 201) throw new Error(`deploy of ${name} failed: ${res.status} ${JSON.stringify(body)}`);
  return body.function_id;
}

export type ErrorJson = { error: { code: string; message: string; field?: string } };

/** Pids of live processes whose environment holds `token` (the function's env): its sandboxed processes. */
export async function pidsWith(token: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const env = await readFile(`/proc/${name}/environ`, 'latin1').catch(() => '');
    if (env.includes(token)) pids.push(Number(name));
  }
  return pids;
}
