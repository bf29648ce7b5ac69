import { execFile } from 'node:child_process';
import { closeSync, constants, openSync, readdirSync, rmSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pidAlive } from './docker-orphans.js';

const DIR_PREFIX = 'nanogrid-warm-';

/** Where the channel's directory appears inside a container. */
export const FIFO_MOUNT = '/nanogrid-channel';

/**
 * A warm container's protocol channel over two named pipes in a host
 * directory bind-mounted into the container, instead of the attach stream:
 * on a local engine the request and answer lines then go straight between
 * the host and the container, without dockerd and containerd-shim relaying
 * every line (a measurable share of the CPU at a thousand calls a second).
 * stderr takes a third pipe; the attach stream only tells when the container
 * ends (crash detection) and carries what the shell says before the pipes open.
 */
export interface FifoChannel {
  /** Host directory holding `in` and `out` (bind it to FIFO_MOUNT). */
  dir: string;
  /** Host ends: write requests to `input`, read answers from `output` and the server's stderr from `errors`. */
  input: Socket;
  output: Socket;
  errors: Socket;
  /** The fd under `errors` (non-blocking): a call's stderr is read from it once its answer is in. */
  errorsFd: number;
  /** Wraps the serve command so its stdin/stdout are the pipes. */
  wrap(command: string[]): string[];
  close(): void;
}

const run = promisify(execFile);

/**
 * Creates the pipes under `root`; undefined when this host cannot (no mkfifo).
 * Asynchronous: a prewarmed spare is refilled while calls are served, and a
 * blocking `mkfifo` would hold every one of them for as long as it runs.
 */
export async function openFifoChannel(root: string): Promise<FifoChannel | undefined> {
  let dir: string | undefined;
  const fds: number[] = [];
  try {
    dir = await mkdtemp(join(root, `${DIR_PREFIX}${process.pid}-`));
    await chmod(dir, 0o755); // the container's unprivileged user opens the pipes
    await run('mkfifo', ['-m', '0666', join(dir, 'in'), join(dir, 'out'), join(dir, 'err')]);
    // Read-write opens never block and never see end-of-file before the container opens its ends.
    const inFd = openSync(join(dir, 'in'), constants.O_RDWR | constants.O_NONBLOCK);
    fds.push(inFd);
    const outFd = openSync(join(dir, 'out'), constants.O_RDWR | constants.O_NONBLOCK);
    fds.push(outFd);
    const errFd = openSync(join(dir, 'err'), constants.O_RDWR | constants.O_NONBLOCK);
    fds.push(errFd);
    const input = new Socket({ fd: inFd, readable: false, writable: true });
    const output = new Socket({ fd: outFd, readable: true, writable: false });
    const errors = new Socket({ fd: errFd, readable: true, writable: false });
    const where = dir;
    return {
      dir: where,
      input,
      output,
      errors,
      errorsFd: errFd,
      wrap: (command) => [
        '/bin/sh',
        '-c',
        `exec "$@" <${FIFO_MOUNT}/in >${FIFO_MOUNT}/out 2>${FIFO_MOUNT}/err`,
        'nanogrid-serve',
        ...command,
      ],
      close() {
        input.destroy();
        output.destroy();
        errors.destroy();
        rmSync(where, { recursive: true, force: true });
      },
    };
  } catch {
    for (const fd of fds) closeSync(fd);
    if (dir) rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

/** Removes pipe directories under `root` left by worker processes that are gone (a crash). Never throws. */
export function removeStaleFifoDirs(root: string): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  for (const name of names) {
    const pid = Number(/^nanogrid-warm-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || pidAlive(pid)) continue;
    rmSync(join(root, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
