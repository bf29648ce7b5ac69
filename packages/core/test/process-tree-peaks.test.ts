import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessTree } from '../src/sandbox/process-tree.js';

const MiB = 1024 * 1024;
const PAGE = 4096;

// A launcher (as bubblewrap's processes are) whose child allocates on request: `alloc <MiB>` touches that much
// memory, holds it until the line is answered, then frees it; every request is answered with `ok`.
const CHILD = `
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (l) => {
  const mb = Number(l.split(' ')[1] ?? 0);
  if (mb) { const b = Buffer.alloc(mb * 1024 * 1024, 1); b[b.length - 1] = 2; }
  process.stdout.write('ok\\n');
});`;
const LAUNCHER = `
const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(CHILD)}], { stdio: 'pipe' });
process.stdin.pipe(c.stdin);
c.stdout.pipe(process.stdout);`;

let launcher: ChildProcess | undefined;
afterEach(() => {
  launcher?.kill('SIGKILL');
  launcher = undefined;
});

async function start(): Promise<{ ask(line: string): Promise<void>; pid: number }> {
  launcher = spawn(process.execPath, ['-e', LAUNCHER], { stdio: ['pipe', 'pipe', 'inherit'] });
  await once(launcher, 'spawn');
  const waiting: (() => void)[] = [];
  createInterface({ input: launcher.stdout! }).on('line', () => waiting.shift()?.());
  const proc = launcher;
  const ask = (line: string) =>
    new Promise<void>((done) => {
      waiting.push(done);
      proc.stdin!.write(`${line}\n`);
    });
  await ask('ping'); // the child is up
  return { ask, pid: proc.pid! };
}

describe("ProcessTree: a call's peak with launchers", () => {
  it("counts a launcher's resident memory at the last sample and still catches a child's spike between samples", async () => {
    const { ask, pid } = await start();
    const tree = new ProcessTree(pid, PAGE);
    tree.setLaunchers([pid]);
    const { pids } = tree.sample();
    expect(pids).toHaveLength(2); // the launcher and its child
    const childPid = pids.find((p) => p !== pid)!;
    const kB = (p: number, field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1]) * 1024;
    tree.resetPeaks();
    const quiet = tree.peakBytes();
    const child = kB(childPid, 'VmHWM');
    const launcherRss = kB(pid, 'VmRSS');
    tree.resetPeaks();
    await ask('alloc 48'); // allocated and freed before the read: only the child's high-water mark saw it
    const spiked = tree.peakBytes();
    // The launcher's resident memory is in (it is not reset or read per call), beside the child's own mark.
    expect(quiet).toBeGreaterThan(child + 0.8 * launcherRss);
    expect(spiked - quiet).toBeGreaterThan(40 * MiB);
    tree.close();
  });

  // Hostile: between a sample and the first peak reset, the sampled process exits and its pid goes to another
  // process (pid_max is 32768). Simulated by giving the sampled start time of a live member a different value.
  it('never opens, resets or reads the peak files of a pid whose start time no longer matches the sample', async () => {
    const { ask, pid } = await start();
    const tree = new ProcessTree(pid, PAGE);
    tree.setLaunchers([pid]);
    const childPid = tree.sample().pids.find((p) => p !== pid)!;
    await ask('alloc 32');
    const inner = tree as unknown as { members: Map<number, string>; launcherBytes: number };
    const members = inner.members;
    members.set(childPid, `${members.get(childPid)}0`); // the pid now names a later process
    const openOnChild = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(`/proc/${childPid}/`);
        } catch {
          return false; // the fd of the directory listing itself
        }
      });
    tree.resetPeaks();
    const peak = tree.peakBytes();
    expect(openOnChild()).toEqual([]); // no clear_refs written, no status read
    expect(peak).toBe(inner.launcherBytes); // the launcher's RSS at the sample, not the other process's mark
    members.set(childPid, members.get(childPid)!.slice(0, -1)); // the sampled process again: measured as before
    expect(tree.peakBytes() - inner.launcherBytes).toBeGreaterThan(30 * MiB);
    expect(openOnChild()).toHaveLength(2);
    tree.close();
  });
});
