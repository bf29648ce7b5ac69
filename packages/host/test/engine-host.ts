import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { NanoGridConfig, Sandbox } from '@nanogrid/core';
import { type TestHost, startTestHost } from './helpers.js';

const execFileP = promisify(execFile);

/** Host tests that need Docker: the runtime images they use. */
export const PYTHON_IMAGES = ['nanogrid/python:3', 'nanogrid/python-fat:3'];

/** The engine on the sandbox asked for, behind the HTTP API (see startTestHost). */
export function makeEngineHost(
  config: Partial<NanoGridConfig> & { sandbox: 'docker' | 'process' | Sandbox },
): Promise<TestHost> {
  return startTestHost(config, config.limits ? { limits: config.limits } : {});
}

/** Ids of the containers (any state) carrying a label, through the docker CLI. */
export async function containersLabelled(key: string, value: string): Promise<string[]> {
  const { stdout } = await execFileP('docker', ['ps', '-aq', '--filter', `label=${key}=${value}`]);
  return stdout.split('\n').filter(Boolean);
}

/** The address of Docker's default bridge on this machine: reachable from containers with a network. */
export async function dockerBridgeGateway(): Promise<string> {
  const { stdout } = await execFileP('docker', [
    'network',
    'inspect',
    'bridge',
    '--format',
    '{{range .IPAM.Config}}{{.Gateway}} {{end}}',
  ]);
  return (
    stdout
      .trim()
      .split(/\s+/)
      .find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)) ?? '172.17.0.1'
  );
}

/** An example under examples/functions. */
export const example = (file: string): Promise<string> =>
  readFile(new URL(`../../../examples/functions/${file}`, import.meta.url), 'utf8');

export interface JobJson {
  job_id: string;
  status: string;
  result?: Record<string, unknown>;
  error?: { code: string; message: string; type?: string };
  output_files: string[];
  peak_memory_bytes?: number;
  execution_time_ms?: number;
  logs?: string;
}
