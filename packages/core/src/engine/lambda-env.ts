import { randomUUID } from 'node:crypto';

/** Where functions say they run, in Lambda's terms: the region and account of their ARNs. */
export interface LambdaIdentity {
  /** @default 'us-east-1' */
  region: string;
  /** Twelve digits. @default '000000000000' */
  accountId: string;
}

export const DEFAULT_LAMBDA_IDENTITY: Readonly<LambdaIdentity> = { region: 'us-east-1', accountId: '000000000000' };

/** Lambda's name of the unpublished version; functions without versions run as it. */
export const LATEST_VERSION = '$LATEST';

/**
 * An event's JSON is put in `PAYLOAD` only up to this size: the kernel refuses
 * to start a program with one environment string over 128 KiB (E2BIG). Every
 * run gets the event on standard input whatever its size. Keep in sync with
 * the bootstraps and warm servers of the runtimes.
 */
export const PAYLOAD_ENV_MAX_BYTES = 64 * 1024;

/** `arn:aws:lambda:{region}:{account}:function:{name}[:{qualifier}]`, as Lambda names a function. */
export function functionArn(identity: LambdaIdentity, name: string, qualifier?: string): string {
  const base = `arn:aws:lambda:${identity.region}:${identity.accountId}:function:${name}`;
  return qualifier ? `${base}:${qualifier}` : base;
}

/** Lambda's log stream name: `YYYY/MM/DD/[version]` and 32 hex digits. */
export function logStreamName(version: string, now = new Date()): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '/');
  // randomUUID draws from a cached pool (~1 µs); randomBytes is a syscall per call, and this runs per invocation.
  return `${day}/[${version}]${randomUUID().replaceAll('-', '')}`;
}

export interface LambdaFunctionFacts {
  identity: LambdaIdentity;
  functionName: string;
  version: string;
  handler: string;
  memoryMb: number;
}

/**
 * Lambda's reserved environment variables, in two parts: `overridable` goes
 * before the function's own env (a function may set its region or time zone),
 * `fixed` after it (the function's name, memory and logs are facts).
 * `LAMBDA_TASK_ROOT` is set by the bootstraps, which know where the code is seen.
 */
export function lambdaEnv(f: LambdaFunctionFacts): {
  overridable: Record<string, string>;
  fixed: Record<string, string>;
} {
  return {
    overridable: { AWS_REGION: f.identity.region, AWS_DEFAULT_REGION: f.identity.region, TZ: ':UTC' },
    fixed: {
      AWS_LAMBDA_FUNCTION_NAME: f.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(f.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: f.version,
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${f.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: logStreamName(f.version),
      _HANDLER: f.handler,
    },
  };
}
