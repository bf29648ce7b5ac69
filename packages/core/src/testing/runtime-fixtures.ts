/** One function's sources, written into a fresh code directory beside the runtime's bootstrap. */
export interface RuntimeFixture {
  /** Path relative to the code root → source. Sub-folders are allowed. */
  files: Record<string, string>;
  /** File holding the handler or the script. */
  entryFile: string;
  /** `module.function`. @default the runtime's `defaultHandler` */
  handler?: string;
}

/**
 * The language-specific sources the suite runs. Each entry's doc is its contract:
 * what the function must do with its event and what it must return.
 */
export interface RuntimeFixtures {
  /**
   * Handler returning `{ event, job_id, function_id, function_name, output_dir, ai_endpoint, remaining_ms }`
   * read from its event and context (`remaining_ms` from the context's remaining-time function).
   */
  echo: RuntimeFixture;
  /** Async handler that awaits a timer, then returns `{ async: true, value: event.value }`. */
  asyncHandler: RuntimeFixture;
  /** Handler that throws an exception of class `errorType` with message `event.message`. */
  throws: RuntimeFixture & { errorType: string };
  /** Script without a handler: reads `PAYLOAD` `{ name }` and prints the text `Hello, {name}!` (the original hello). */
  scriptText: RuntimeFixture;
  /** Script without a handler: reads `PAYLOAD` `{ a, b }` and prints the JSON `{"sum": a + b}`. */
  scriptJson: RuntimeFixture;
  /** Script that prints `partial output`, then exits with code 3. */
  scriptExit: RuntimeFixture;
  /** Handler that prints `log line {i}` for i in 0 … event.lines - 1 to stdout, then returns `{ done: true }`. */
  logs: RuntimeFixture;
  /**
   * Handler that prints the line `event.text` to stdout and `err ` + `event.text` to stderr, waits
   * `event.waitMs` ms (a timer), prints the line `done` to stdout, then returns `{ printed: event.text }`.
   * Live logs: the first lines must reach the host while it waits.
   */
  liveLogs: RuntimeFixture;
  /** Handler that writes `event.text` to `out.txt` in the output directory, then returns `{ written: true }`. */
  output: RuntimeFixture;
  /** Handler that imports a second file of the code directory and returns `{ answer: 42 }` computed there. */
  multiFile: RuntimeFixture;
  /** Handler returning a value JSON cannot carry (a Python set, a JavaScript BigInt). */
  unserializable: RuntimeFixture;
  /** Script without a handler that reads the event's JSON `{ data }` from stdin and prints `{"size": len(data)}`. */
  scriptStdin: RuntimeFixture;
  /** Handler returning `{ size: len(event.data) }` (the suite sends 6 MiB). */
  eventSize: RuntimeFixture;
  /**
   * Handler returning Lambda's context attributes under their snake_case names
   * (`aws_request_id`, `invoked_function_arn`, `function_name`, `function_version`,
   * `memory_limit_in_mb`, `log_group_name`, `log_stream_name`, `remaining_ms` from
   * the remaining-time function) and `env`: the values of every name in `event.names`
   * from its environment (null when unset).
   */
  lambdaContext: RuntimeFixture;
  /**
   * Handler that logs `event.message` at INFO through the language's usual logger
   * (Python: the root logger after `setLevel(INFO)`; Node: `console.log`), then returns `{ logged: true }`.
   * `logLine` is the line Lambda prints for it.
   */
  lambdaLog: RuntimeFixture & { logLine(requestId: string, message: string): RegExp };
  /** Module that prints `module loaded` while it loads; its handler returns `{ ok: true }`. */
  moduleLoad: RuntimeFixture;
  /** Module in a folder with `-` in its name (`src/simple-hello.*`, handler `src/simple-hello.handler`) returning `{ hello: event.name }`. */
  dashedPath: RuntimeFixture;
  /** Module defining a handler under another name than the one it is deployed with (`fixture.handler`). */
  missingHandler: RuntimeFixture;
  /** Module that raises `errorType` while it loads (it reads an environment variable that is not set). */
  importError: RuntimeFixture & { errorType: string };
  /** Module with a syntax error in the line that defines its handler. */
  syntaxError: RuntimeFixture;
  /**
   * Handler that runs `event.sh` with `/bin/sh -c` (environment inherited: TMPDIR, OUTPUT_DIR) and returns
   * `{ out: <its stdout>, code: <its exit code> }`: the scratch cases do to /tmp and /output what any program could.
   */
  shell: RuntimeFixture;
  /** Languages with Lambda's callbacks: a handler calling `callback(null, { called: true, value: event.value })` after a timer. */
  callback?: RuntimeFixture;
  /** Languages with Lambda's callbacks: an `(event, context)` handler ending with `context.succeed({ succeeded: true })` after a timer. */
  contextSucceed?: RuntimeFixture;
}
