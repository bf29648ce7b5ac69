import { NanoGridError } from '@nanogrid/core';

const NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;
const DEFAULT_REGISTRY = 'https://registry.npmjs.org/';

function refused(file: string, message: string, extra: Record<string, unknown> = {}): NanoGridError {
  return new NanoGridError('BUILD_FAILED', `${file}: ${message}`, { details: { field: file, ...extra } });
}

function parseJson(file: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw refused(file, `not valid JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw refused(file, 'not a JSON object');
  return value as Record<string, unknown>;
}

/** A spec that names a registry version: a range, a tag, an `npm:` alias or (in overrides) a `$dependency` reference. */
function checkSpec(name: string, spec: unknown, where: string): void {
  if (typeof spec !== 'string')
    throw refused('package.json', `the version of "${name}" in ${where} is not a string`, { package: name });
  const target = spec.startsWith('npm:') ? spec.slice(4) : spec;
  if (/[:\\]/.test(target) || (!spec.startsWith('npm:') && target.includes('/'))) {
    throw refused(
      'package.json',
      `"${name}": "${spec}" is not accepted: only registry versions (a range, a tag or npm:alias) are installed`,
      { package: name },
    );
  }
}

/** `overrides` nest: `{ "a": "1", "b": { ".": "2", "c": "3" } }`. */
function checkOverrides(value: unknown, path: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw refused('package.json', `"overrides${path}" is not an object`);
  }
  for (const [name, spec] of Object.entries(value as Record<string, unknown>)) {
    if (typeof spec === 'object') checkOverrides(spec, `${path}.${name}`);
    else checkSpec(name, spec, 'overrides');
  }
}

/**
 * The registry packages of a package.json (`dependencies` and
 * `optionalDependencies`; devDependencies are not installed). A version range,
 * a tag or an `npm:` alias is accepted; a spec that fetches from elsewhere
 * (`file:`, `link:`, `git+…`, `http…`, `user/repo`) is refused with the
 * package, in `peerDependencies` and `overrides` too (npm installs those);
 * `workspaces` (folders outside the upload's manifest) are refused.
 */
export function manifestPackages(text: string): string[] {
  const pkg = parseJson('package.json', text);
  if (pkg.workspaces !== undefined)
    throw refused('package.json', '"workspaces" are not installed: deploy each function on its own');
  if (pkg.overrides !== undefined) checkOverrides(pkg.overrides, '');
  const names: string[] = [];
  for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies'] as const) {
    const deps = pkg[field];
    if (deps === undefined) continue;
    if (deps === null || typeof deps !== 'object' || Array.isArray(deps)) {
      throw refused('package.json', `"${field}" is not an object`);
    }
    for (const [name, spec] of Object.entries(deps as Record<string, unknown>)) {
      if (!NAME.test(name)) throw refused('package.json', `"${name}" is not a package name`, { package: name });
      checkSpec(name, spec, field);
      if (field !== 'peerDependencies' && !names.includes(name)) names.push(name);
    }
  }
  return names;
}

/** The registry URL with one trailing slash. */
export function normalizeRegistry(url: string | undefined): string {
  const u = url?.trim() || DEFAULT_REGISTRY;
  return u.endsWith('/') ? u : `${u}/`;
}

/**
 * Checks a package-lock.json / npm-shrinkwrap.json: every `resolved` tarball
 * must come from the registry (npm fetches the others from wherever they
 * point), and no entry may be a link to a folder.
 */
export function checkLock(file: string, text: string, registry: string): void {
  const lock = parseJson(file, text);
  const allowed = [normalizeRegistry(registry), DEFAULT_REGISTRY];
  const check = (path: string, entry: unknown): void => {
    if (entry === null || typeof entry !== 'object') return;
    const e = entry as { resolved?: unknown; link?: unknown; dependencies?: unknown };
    if (e.link === true)
      throw refused(file, `"${path}" is a link to a folder; only registry packages are installed`, { package: path });
    if (typeof e.resolved === 'string' && !allowed.some((r) => (e.resolved as string).startsWith(r))) {
      throw refused(file, `"${path}" resolves to ${e.resolved}, outside the registry ${allowed[0]}`, { package: path });
    }
    // lockfileVersion 1 nests its tree under `dependencies`.
    if (e.dependencies && typeof e.dependencies === 'object')
      for (const [k, v] of Object.entries(e.dependencies)) check(k, v);
  };
  for (const [k, v] of Object.entries((lock.packages ?? {}) as Record<string, unknown>)) if (k !== '') check(k, v);
  for (const [k, v] of Object.entries((lock.dependencies ?? {}) as Record<string, unknown>)) check(k, v);
}
