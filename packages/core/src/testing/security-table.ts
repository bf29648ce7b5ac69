import { readFile, writeFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { HOSTILE_CASES, type HostileCaseId, type HostileOutcome } from './hostile-cases.js';

const BEGIN = '<!-- hostile-cases:begin -->';
const END = '<!-- hostile-cases:end -->';
/** Set to 1, the check rewrites its column instead of comparing. */
export const WRITE_SECURITY_DOC_ENV = 'NANOGRID_WRITE_SECURITY_DOC';

const FIXED = ['case', 'what the function does', 'holding means'];

function cellOf(outcome: HostileOutcome): string {
  return outcome === 'holds' ? 'holds' : 'not promised: warned at start-up';
}

function splitRow(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());
}

/** The table as Biome formats Markdown: every column padded to its widest cell. */
function render(columns: string[], rows: Map<string, string[]>): string {
  const body = HOSTILE_CASES.map((c) => {
    const cells = rows.get(c.id) ?? [];
    const rest = columns.slice(FIXED.length).map((_, i) => cells[FIXED.length + i] || 'not run');
    return [`\`${c.id}\``, c.attack, c.holds, ...rest];
  });
  const widths = columns.map((h, i) => Math.max(3, h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/**
 * docs/security.md's table of hostile cases, one column per sandbox, kept
 * true by the suite: give `onOutcome` to testSandbox and call `verify()`
 * after it (afterAll). Each outcome the run saw must be the cell of its
 * column, and the case texts must be HOSTILE_CASES'; with
 * NANOGRID_WRITE_SECURITY_DOC=1 the column is rewritten instead.
 */
export function securityTable(docPath: string, column: string) {
  const seen = new Map<HostileCaseId, HostileOutcome>();
  return {
    onOutcome(id: HostileCaseId, outcome: HostileOutcome): void {
      seen.set(id, outcome);
    },
    async verify(): Promise<void> {
      const doc = await readFile(docPath, 'utf8');
      const begin = doc.indexOf(BEGIN);
      const end = doc.indexOf(END);
      expect(begin >= 0 && end > begin, `${docPath} has no ${BEGIN} … ${END} table`).toBe(true);
      const lines = doc
        .slice(begin + BEGIN.length, end)
        .trim()
        .split('\n');
      const columns = splitRow(lines[0] ?? '');
      const rows = new Map<string, string[]>();
      for (const line of lines.slice(2)) {
        const cells = splitRow(line);
        rows.set((cells[0] ?? '').replace(/`/g, ''), cells);
      }
      let at = columns.indexOf(column);
      if (process.env[WRITE_SECURITY_DOC_ENV] === '1') {
        const cols = columns.length >= FIXED.length ? columns : [...FIXED];
        if (at < 0) at = cols.push(column) - 1;
        for (const [id, outcome] of seen) {
          const cells = rows.get(id) ?? [];
          cells[at] = cellOf(outcome);
          rows.set(id, cells);
        }
        await writeFile(docPath, `${doc.slice(0, begin + BEGIN.length)}\n${render(cols, rows)}\n${doc.slice(end)}`);
        return;
      }
      expect(at, `${docPath}: no column "${column}" (run with ${WRITE_SECURITY_DOC_ENV}=1 to add it)`).toBeGreaterThan(
        2,
      );
      for (const c of HOSTILE_CASES) {
        const cells = rows.get(c.id);
        expect(cells, `${docPath}: no row for ${c.id} (run with ${WRITE_SECURITY_DOC_ENV}=1)`).toBeDefined();
        expect([cells?.[1], cells?.[2]], `${docPath}: the texts of ${c.id} differ from HOSTILE_CASES`).toEqual([
          c.attack,
          c.holds,
        ]);
        const outcome = seen.get(c.id);
        if (outcome) expect(cells?.[at], `${docPath}: ${c.id} under ${column}`).toBe(cellOf(outcome));
      }
    },
  };
}
