import { NanoGridError } from '@nanogrid/core';

/** One accepted line of a requirements.txt. */
export interface Requirement {
  /** Distribution name as written (`requests`). */
  name: string;
  /** 1-based line of the file. */
  line: number;
}

const NAME = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[A-Za-z0-9._,\s-]*\])?\s*/;
const VERSION = /^\s*(?:(?:===|==|!=|<=|>=|~=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*(?:,\s*|$))*$/;
const MARKER = /^[\w\s.<>=!~'"(),-]*$/;
const HASH = /^--hash[=\s]\s*[a-z0-9]+:[a-f0-9]+$/;

function refused(line: number, text: string, why: string): NanoGridError {
  return new NanoGridError(
    'BUILD_FAILED',
    `requirements.txt line ${line} is not accepted (${why}): ${text.slice(0, 200)}`,
    {
      details: { field: 'requirements.txt', line },
    },
  );
}

/**
 * Reads a requirements.txt and accepts only plain requirements: a name,
 * extras, version specifiers, an environment marker and `--hash` options.
 * Everything that would change where packages come from or run code of the
 * upload's choosing is refused with the line: option lines (`--index-url`,
 * `-e`, `-r`, `--find-links`, `--trusted-host` …), per-requirement
 * `--install-option` / `--global-option` / `--config-settings`, direct
 * references (`name @ https://…`) and URLs or paths (`git+https://…`, `./pkg`).
 */
export function parseRequirements(text: string): Requirement[] {
  const out: Requirement[] = [];
  // A trailing backslash joins the next line, as pip reads it.
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let raw = lines[i] ?? '';
    while (raw.endsWith('\\') && i + 1 < lines.length) raw = raw.slice(0, -1) + (lines[++i] ?? '');
    // A comment starts at a `#` at the beginning or after whitespace.
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    if (line.startsWith('-'))
      throw refused(start, line, "pip options are not accepted: packages come from the host's index");
    const m = NAME.exec(line);
    if (!m?.[1]) throw refused(start, line, 'not a package name: URLs and paths are not accepted');
    let rest = line.slice(m[0].length);
    const options = ` ${rest}`.split(/\s+(?=--)/);
    rest = (options.shift() ?? '').trim();
    for (const opt of options) {
      if (!HASH.test(opt.trim()))
        throw refused(start, line, `the option ${opt.trim().split(/[=\s]/)[0]} is not accepted; only --hash is`);
    }
    if (rest.includes('@') || /:\/\//.test(rest))
      throw refused(start, line, 'URLs and direct references (name @ URL) are not accepted');
    const semi = rest.indexOf(';');
    const version = semi >= 0 ? rest.slice(0, semi) : rest;
    const marker = semi >= 0 ? rest.slice(semi + 1) : '';
    if (!VERSION.test(version.replace(/^\((.*)\)$/, '$1')))
      throw refused(start, line, `"${version.trim()}" is not a version specifier`);
    if (!MARKER.test(marker)) throw refused(start, line, 'the environment marker holds characters a marker cannot');
    out.push({ name: m[1], line: start });
  }
  return out;
}
