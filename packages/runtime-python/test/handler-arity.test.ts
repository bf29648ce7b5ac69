import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pythonRuntime } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'nanogrid-arity-'));
for (const [file, source] of Object.entries(pythonRuntime().bootstrap)) writeFileSync(join(dir, file), source);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Handlers of every shape, each with the arity inspect.signature gives it (what handler_arity always answered). */
const SCRIPT = `import functools, inspect, json, sys
sys.path.insert(0, ${JSON.stringify(dir)})
import __nanogrid_lambda as lam

def by_signature(h):
    try:
        params = list(inspect.signature(h).parameters.values())
    except (TypeError, ValueError):
        return 2
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return 2
    return min(2, len([p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]))

def none(): pass
def one(event): pass
def two(event, context): pass
def three(event, context, extra=None): pass
def star(*args): pass
def one_star(event, *rest): pass
def kw_only(event, *, context=None): pass
def pos_only(event, /, context): pass
def with_defaults(event=None, context=None): pass
async def coro(event): pass
def lone(event): pass
@functools.wraps(lone)
def wrapper(*args, **kwargs): return lone(*args)
def two_but_says_one(event, context): pass
two_but_says_one.__signature__ = inspect.signature(lone)
class Callable:
    def __call__(self, event): pass
class Holder:
    def method(self, event, context): pass
handlers = [none, one, two, three, star, one_star, kw_only, pos_only, with_defaults, coro, wrapper,
            two_but_says_one, Callable(), Holder().method, functools.partial(two, {}), lambda e, c: None, print]
print(json.dumps([[lam.handler_arity(h), by_signature(h)] for h in handlers]))
`;

describe("the Python runtime's handler arity", () => {
  it('is what inspect.signature says for every shape of handler (plain functions take a shortcut)', () => {
    const pairs = JSON.parse(execFileSync('python3', ['-c', SCRIPT], { encoding: 'utf8' })) as [number, number][];
    expect(pairs).toHaveLength(17);
    for (const [fast, reference] of pairs) expect(fast).toBe(reference);
    // The shapes really differ: a shortcut answering 2 for all would fail here.
    expect(pairs.map(([a]) => a)).toEqual([0, 1, 2, 2, 2, 2, 1, 2, 2, 1, 1, 1, 1, 2, 1, 2, 2]);
  });
});
