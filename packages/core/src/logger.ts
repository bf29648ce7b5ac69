/** The few logging calls NanoGrid makes; `console` fits, so does pino. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug?(msg: string, fields?: Record<string, unknown>): void;
}

/** One JSON-free line per event on stderr: `level msg key=value …`. */
export function consoleLogger(prefix = 'nanogrid', level: 'debug' | 'info' | 'warn' | 'silent' = 'info'): Logger {
  const order = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 } as const;
  const line = (lvl: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < order[level]) return;
    const extra = fields
      ? Object.entries(fields)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ')
      : '';
    process.stderr.write(`[${prefix}] ${lvl} ${msg}${extra ? ` ${extra}` : ''}\n`);
  };
  return {
    debug: (m, f) => line('debug', m, f),
    info: (m, f) => line('info', m, f),
    warn: (m, f) => line('warn', m, f),
    error: (m, f) => line('error', m, f),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
