/** Human output of the client commands: aligned columns, sizes, times. */

export function table(headers: string[], rows: (string | number | undefined)[][]): string[] {
  const cells = rows.map((r) => r.map((c) => (c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)];
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `2026-11-30T09:10:11.123Z` → `2026-11-30 09:10:11`. */
export function when(iso: string | undefined): string | undefined {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : undefined;
}

export function pretty(value: unknown): string {
  return value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/**
 * Text a function controls (log lines, error messages, traces), made safe for a
 * terminal: control characters other than tab and newline show as `\x1b`-style
 * escapes, so a function cannot move the cursor, rewrite earlier lines, retitle
 * the window or write the clipboard (OSC 52) of whoever reads its logs.
 */
export function terminalSafe(text: string): string {
  return text.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
