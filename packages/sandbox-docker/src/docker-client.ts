import type Dockerode from 'dockerode';

/**
 * Where the Docker engine is. With nothing set, dockerode follows the usual
 * environment (`DOCKER_HOST`, `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`) and
 * falls back to `/var/run/docker.sock`.
 */
export interface DockerConnectionOptions {
  /** Unix socket of a local engine. @default from DOCKER_HOST, else /var/run/docker.sock */
  socketPath?: string;
  /** Host of a remote engine (`tcp://` DOCKER_HOST). @default from DOCKER_HOST */
  host?: string;
  /** @default from DOCKER_HOST */
  port?: number | string;
  /** @default 'http' (https when DOCKER_TLS_VERIFY is set) */
  protocol?: 'http' | 'https' | 'ssh';
}

/** Opens a dockerode client; dockerode is imported only when Docker is really used. */
export async function openDocker(conn: DockerConnectionOptions = {}): Promise<Dockerode> {
  const { default: Docker } = await import('dockerode');
  const opts = Object.fromEntries(Object.entries(conn).filter(([, v]) => v !== undefined));
  return Object.keys(opts).length > 0 ? new Docker(opts as Dockerode.DockerOptions) : new Docker();
}

/** True when the engine is local (unix socket): the host's cgroup files describe its containers. */
export function isLocalEngine(conn: DockerConnectionOptions = {}): boolean {
  if (conn.socketPath) return true;
  if (conn.host) return false;
  const env = process.env.DOCKER_HOST;
  return !env || env.startsWith('unix://');
}

/** Pings the engine; false when it does not answer within `timeoutMs`. Never throws. */
export async function detectDocker(opts: DockerConnectionOptions & { timeoutMs?: number } = {}): Promise<boolean> {
  const { timeoutMs = 2000, ...conn } = opts;
  let docker: Dockerode;
  try {
    docker = await openDocker(conn);
  } catch {
    return false;
  }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    // dockerode 4 takes an abortSignal on ping; its typings do not declare it.
    const ping = docker.ping as unknown as (o: { abortSignal: AbortSignal }) => Promise<unknown>;
    await ping.call(docker, { abortSignal: abort.signal });
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** HTTP status of a failed engine call (dockerode puts it on `statusCode`). */
export function dockerStatus(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Host directories of runs (scratch mounts, pipe directories): not for a client's eyes. */
const RUN_DIRS = /\/(?:[\w.-]+\/)*nanogrid-(?:scratch|warm)-[\w.-]+/g;

/** The engine's own message for a failed call, without dockerode's prefix noise or the worker's run directories. */
export function dockerMessage(err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | null)?.json;
  const text =
    json && typeof json.message === 'string' ? json.message : err instanceof Error ? err.message : String(err);
  return text.replace(RUN_DIRS, '<run dir>');
}

/** The images (of `images`) the engine does not have; every one when the engine does not answer. */
export async function missingImages(images: readonly string[], conn: DockerConnectionOptions = {}): Promise<string[]> {
  let docker: Dockerode;
  try {
    docker = await openDocker(conn);
  } catch {
    return [...images];
  }
  const present = await Promise.all(
    images.map((image) =>
      docker
        .getImage(image)
        .inspect()
        .then(
          () => true,
          () => false,
        ),
    ),
  );
  return images.filter((_, i) => !present[i]);
}
