import { execFile } from 'node:child_process';
import { chmod, mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '@nanogrid/core';
import { ownPrivateRoot, removeStaleRunDirs } from './private-root.js';

const run = promisify(execFile);

/**
 * The writable places of one container, `/tmp` and `/output`, as two
 * directories of one size-capped tmpfs mounted on the host: their space
 * together is the run's disk quota (writes past it fail with ENOSPC inside),
 * and because they are bind mounts the archive API still copies /output out
 * after the container exited (it cannot see into a container's own tmpfs).
 */
export interface Scratch {
  /** `Binds` entries for the container. */
  binds: string[];
  /** Changes the quota (a prewarmed spare taking a function's `disk_mb`). */
  resize(sizeMb: number): Promise<void>;
  /** Unmounts and removes it; call once the container is removed. Never throws. */
  release(): Promise<void>;
}

const PREFIX = 'nanogrid-scratch-';

/**
 * Scratch mounts of one worker under `root`. Mounting needs root on the host
 * that runs the engine (a local engine): when `mount` fails the first time,
 * `create` answers undefined from then on and the caller falls back to a
 * tmpfs /tmp of the same size and an uncapped /output volume (warned once).
 */
export class ScratchMounts {
  private usable: boolean | undefined;

  constructor(
    private readonly root: string,
    private readonly logger: Logger,
  ) {}

  async create(runId: string, sizeMb: number): Promise<Scratch | undefined> {
    if (this.usable === false) return undefined;
    const dir = join(this.root, `${PREFIX}${process.pid}-${runId}`);
    try {
      await this.ownRoot();
      await mkdir(dir, { mode: 0o700 });
      await run('mount', ['-t', 'tmpfs', '-o', `size=${mb(sizeMb)}m,mode=0755,nosuid,nodev`, 'nanogrid-scratch', dir]);
      this.usable = true;
    } catch (err) {
      await rmdir(dir).catch(() => undefined);
      if (this.usable === undefined) {
        this.usable = false;
        this.logger.warn(
          'docker-sandbox: cannot mount a tmpfs per run here (not root, or the engine is not local): /tmp is capped at disk_mb, /output is not',
          { error: (err as Error).message.split('\n')[0] },
        );
      }
      return undefined;
    }
    // The function (a non-root uid) writes into both; sticky like /tmp.
    for (const sub of ['tmp', 'output']) {
      await mkdir(join(dir, sub));
      await chmod(join(dir, sub), 0o1777);
    }
    let released: Promise<void> | undefined;
    return {
      binds: [`${join(dir, 'tmp')}:/tmp:rw`, `${join(dir, 'output')}:/output:rw`],
      resize: async (size) => {
        await run('mount', ['-o', `remount,size=${mb(size)}m`, dir]);
      },
      release: () => (released ??= unmount(dir)),
    };
  }

  private ownRoot(): Promise<void> {
    return ownPrivateRoot(this.root);
  }

  /** Unmounts scratch mounts of worker processes that are gone (a crash). Never throws. */
  removeStale(): Promise<number> {
    return removeStaleRunDirs(this.root, PREFIX, unmount);
  }
}

const mb = (sizeMb: number): number => Math.max(1, Math.floor(sizeMb));

async function unmount(dir: string): Promise<void> {
  // Lazy: a container that is still being torn down does not keep the mount busy.
  await run('umount', ['-l', dir]).catch(() => undefined);
  await rmdir(dir).catch(() => undefined);
}
