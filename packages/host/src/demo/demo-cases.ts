/** One example the demo deploys and runs, with what its answer must show. */
export interface DemoCase {
  title: string;
  /** File under examples/functions. */
  file: string;
  runtime: string;
  handler?: string;
  timeout?: number;
  network?: 'none' | 'ai' | 'internet';
  payload: unknown;
  mode: 'sync' | 'async';
  /** Returns why the answer is wrong, or undefined when it is right. */
  check(job: DemoJob): string | undefined;
}

export interface DemoJob {
  status: string;
  result?: unknown;
  error?: { code: string; message: string; type?: string };
  output_files?: string[];
  execution_time_ms?: number;
}

/** Why a job is not the completed result `test` accepts, or undefined when it is. */
export const expectResult = (
  job: DemoJob,
  test: (r: Record<string, unknown>) => boolean,
  what: string,
): string | undefined => {
  if (job.status !== 'completed')
    return `expected completed, got ${job.status} ${job.error ? `${job.error.code}: ${job.error.message}` : ''}`;
  const r = job.result;
  return typeof r === 'object' && r !== null && test(r as Record<string, unknown>)
    ? undefined
    : `expected ${what}, got ${JSON.stringify(r)}`;
};

/** The original system's demo functions that need nothing but the runtimes' own toolchains. */
export const CORE_CASES: DemoCase[] = [
  {
    title: 'hello (original, unchanged)',
    file: 'hello.py',
    runtime: 'python3.9',
    handler: 'main.handler',
    timeout: 30,
    payload: { name: 'NanoGrid' },
    mode: 'sync',
    check: (j) => expectResult(j, (r) => r['message'] === 'Hello, NanoGrid!', '{"message":"Hello, NanoGrid!"}'),
  },
  {
    title: 'hello (Node)',
    file: 'hello.mjs',
    runtime: 'nodejs18.x',
    handler: 'hello.handler',
    payload: { name: 'Node' },
    mode: 'sync',
    check: (j) => expectResult(j, (r) => r['message'] === 'Hello, Node!', '{"message":"Hello, Node!"}'),
  },
  {
    title: 'report (writes /output)',
    file: 'report.py',
    runtime: 'python3.11',
    handler: 'report.handler',
    payload: {},
    mode: 'sync',
    check: (j) =>
      expectResult(j, (r) => r['rows'] === 2, '{"rows":2}') ??
      ((j.output_files ?? []).length === 2
        ? undefined
        : `expected 2 output files, got ${JSON.stringify(j.output_files)}`),
  },
  {
    title: 'fails on purpose',
    file: 'fail.py',
    runtime: 'python3.9',
    handler: 'fail.handler',
    payload: { divisor: 0 },
    mode: 'sync',
    check: (j) =>
      j.status === 'failed' && j.error?.code === 'FUNCTION_ERROR' && j.error.type === 'ValueError'
        ? undefined
        : `expected FUNCTION_ERROR ValueError, got ${JSON.stringify(j.error ?? j.status)}`,
  },
  {
    title: 'long job (async + poll)',
    file: 'long_job.py',
    runtime: 'python3.9',
    handler: 'long_job.handler',
    timeout: 60,
    payload: { seconds: 2 },
    mode: 'async',
    check: (j) => expectResult(j, (r) => r['slept_seconds'] === 2, '{"slept_seconds":2}'),
  },
];
