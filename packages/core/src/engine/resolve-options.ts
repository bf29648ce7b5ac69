import { resolve } from 'node:path';
import type { NanoGridConfig } from '../config.js';
import { NETWORK_POLICIES } from '../function-meta.js';
import { NanoGridError } from '../errors.js';
import ipaddr from 'ipaddr.js';
import type { EngineOptions, WebhookOptions } from './engine-options.js';
import { DEFAULT_LAMBDA_IDENTITY } from './lambda-env.js';

const MiB = 1024 * 1024;

function webhookOptions(config: NanoGridConfig): WebhookOptions {
  const w = config.webhooks ?? {};
  const allowNetworks = w.allowNetworks ?? [];
  for (const cidr of allowNetworks) {
    if (typeof cidr !== 'string' || !ipaddr.isValidCIDR(cidr)) {
      throw new NanoGridError(
        'CONFIG_INVALID',
        `webhooks.allowNetworks: "${String(cidr)}" is not a CIDR such as 10.0.0.0/8`,
        {
          details: { field: 'webhooks.allowNetworks' },
        },
      );
    }
  }
  return {
    secret: w.secret || undefined,
    policy: { allowNetworks },
    retryMs: w.retryMs ?? 1000,
    maxDelayMs: w.maxDelayMs ?? 600_000,
    maxAgeMs: w.maxAgeMs ?? 86_400_000,
    timeoutMs: w.timeoutMs ?? 10_000,
    sweepMs: w.sweepMs ?? 10_000,
  };
}

/** Fills the config's limits with their documented defaults and checks they fit together. */
export function resolveEngineOptions(config: NanoGridConfig, cwd: string): EngineOptions {
  const l = config.limits ?? {};
  const dataDir = resolve(cwd, config.dataDir ?? '.nanogrid');
  const options: EngineOptions = {
    workDir: resolve(dataDir, 'work'),
    defaultTimeoutSec: l.defaultTimeoutSec ?? 300,
    maxTimeoutSec: l.maxTimeoutSec ?? 3600,
    defaultMemoryMb: l.defaultMemoryMb ?? 512,
    maxMemoryMb: l.maxMemoryMb ?? 4096,
    defaultDiskMb: l.defaultDiskMb ?? 512,
    maxDiskMb: l.maxDiskMb ?? 10_240,
    cpus: l.cpus ?? 0.5,
    maxArchiveEntries: l.maxArchiveEntries ?? 10_000,
    maxArchiveBytes: l.maxArchiveBytes ?? 256 * MiB,
    maxOutputBytes: l.maxOutputBytes ?? 100 * MiB,
    maxResultBytes: l.maxResultBytes ?? 6 * MiB,
    maxPayloadBytes: l.maxPayloadBytes ?? 6 * MiB,
    maxQueuedBytes: l.maxQueuedBytes ?? 128 * MiB,
    maxStoredResultBytes: l.maxStoredResultBytes ?? 256 * MiB,
    resultSpillBytes: l.resultSpillBytes ?? 64 * 1024,
    defaultNetwork: config.defaultNetwork ?? 'none',
    aiEndpoint: config.ai?.endpoint,
    lambda: {
      region: config.lambda?.region ?? DEFAULT_LAMBDA_IDENTITY.region,
      accountId: config.lambda?.accountId ?? DEFAULT_LAMBDA_IDENTITY.accountId,
    },
    jobTtlSec: config.jobTtlSec ?? 86_400,
    outputUrlTtlSec: 7 * 24 * 3600,
    warm: config.warm?.enabled ?? true,
    webhooks: webhookOptions(config),
  };
  if (options.defaultTimeoutSec > options.maxTimeoutSec) {
    throw new NanoGridError(
      'CONFIG_INVALID',
      `limits.defaultTimeoutSec (${options.defaultTimeoutSec}) is over limits.maxTimeoutSec (${options.maxTimeoutSec})`,
    );
  }
  if (options.defaultMemoryMb > options.maxMemoryMb) {
    throw new NanoGridError(
      'CONFIG_INVALID',
      `limits.defaultMemoryMb (${options.defaultMemoryMb}) is over limits.maxMemoryMb (${options.maxMemoryMb})`,
    );
  }
  if (options.defaultDiskMb > options.maxDiskMb) {
    throw new NanoGridError(
      'CONFIG_INVALID',
      `limits.defaultDiskMb (${options.defaultDiskMb}) is over limits.maxDiskMb (${options.maxDiskMb})`,
    );
  }
  // A budget smaller than one job would refuse every run of that size.
  if (options.maxQueuedBytes < options.maxPayloadBytes + 64 * 1024) {
    throw new NanoGridError(
      'CONFIG_INVALID',
      `limits.maxQueuedBytes (${options.maxQueuedBytes}) must hold at least one largest job: limits.maxPayloadBytes (${options.maxPayloadBytes}) + 64 KiB`,
      { details: { field: 'limits.maxQueuedBytes' } },
    );
  }
  if (options.maxStoredResultBytes < options.resultSpillBytes + 256 * 1024) {
    throw new NanoGridError(
      'CONFIG_INVALID',
      `limits.maxStoredResultBytes (${options.maxStoredResultBytes}) must hold at least one record with an unspilled result: limits.resultSpillBytes (${options.resultSpillBytes}) + 256 KiB (logs and the rest of the record)`,
      { details: { field: 'limits.maxStoredResultBytes' } },
    );
  }
  if (!NETWORK_POLICIES.includes(options.defaultNetwork)) {
    throw new NanoGridError('CONFIG_INVALID', `defaultNetwork must be one of ${NETWORK_POLICIES.join(', ')}`);
  }
  return options;
}
