import type Dockerode from 'dockerode';
import type { NetworkPolicy } from '@nanogrid/core';

/**
 * What a network policy means for a container:
 * - `none`: `NetworkMode: none`, only a loopback interface.
 * - `internet`: Docker's default bridge, with NAT to the outside.
 * - `ai`: an *internal* bridge network (`nanogrid-ai` by default, created on
 *   first use). Docker gives internal networks no route out of the machine,
 *   so the function reaches the Docker host (where a private AI endpoint such
 *   as Ollama runs) but not the internet. `host.docker.internal` names the
 *   host, and an `AI_ENDPOINT` on a loopback address is rewritten to it,
 *   because the host's 127.0.0.1 is not the container's. The endpoint must
 *   listen on an address the bridge reaches (e.g. `OLLAMA_HOST=0.0.0.0`).
 *   Limits: other services listening on the host's bridge addresses are
 *   reachable too, and an endpoint on another machine is not; for that, give
 *   `aiNetwork` the name of a network you prepared (e.g. one with an egress
 *   proxy).
 */
export interface NetworkPlan {
  networkMode: string;
  extraHosts: string[];
  env: Record<string, string>;
}

const HOST_ALIAS = 'host.docker.internal';
const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1|0\.0\.0\.0)$/i;

/** `AI_ENDPOINT` as seen from inside a container: a loopback host becomes the Docker host's alias. */
export function containerAiEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    if (!LOOPBACK.test(url.hostname)) return endpoint;
    url.hostname = HOST_ALIAS;
    // URL adds a trailing slash to a bare origin; keep the caller's form.
    const out = url.toString();
    return endpoint.endsWith('/') || url.pathname !== '/' ? out : out.replace(/\/$/, '');
  } catch {
    return endpoint;
  }
}

/** Creates the internal `ai` network once; concurrent callers share the one creation. */
export async function ensureInternalNetwork(docker: Dockerode, name: string): Promise<void> {
  const existing = await docker.listNetworks({ filters: JSON.stringify({ name: [name] }) } as object);
  if (existing.some((n) => n.Name === name)) return;
  try {
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      Internal: true,
      CheckDuplicate: true,
      Labels: { nanogrid: '1' },
    });
  } catch (err) {
    // Another worker created it first.
    if ((err as { statusCode?: number }).statusCode !== 409) throw err;
  }
}

/** Network settings of one run. `ensureAiNetwork` is called only for the `ai` policy. */
export async function planNetwork(
  policy: NetworkPolicy,
  env: Record<string, string>,
  aiNetwork: string,
  ensureAiNetwork: () => Promise<void>,
): Promise<NetworkPlan> {
  if (policy === 'internet') return { networkMode: 'bridge', extraHosts: [`${HOST_ALIAS}:host-gateway`], env: {} };
  if (policy === 'ai') {
    await ensureAiNetwork();
    const endpoint = env.AI_ENDPOINT;
    return {
      networkMode: aiNetwork,
      extraHosts: [`${HOST_ALIAS}:host-gateway`],
      env: endpoint ? { AI_ENDPOINT: containerAiEndpoint(endpoint) } : {},
    };
  }
  return { networkMode: 'none', extraHosts: [], env: {} };
}
