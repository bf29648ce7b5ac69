import type { FunctionAlias, FunctionMeta } from '@nanogrid/core';

/** Where this host says its functions live, in ARNs and contexts. */
export interface LambdaIdentity {
  /** @default 'us-east-1' */
  region: string;
  /** Twelve digits. @default '000000000000' */
  accountId: string;
}

export const functionArn = (id: LambdaIdentity, name: string, qualifier?: string) =>
  `arn:aws:lambda:${id.region}:${id.accountId}:function:${name}${qualifier ? `:${qualifier}` : ''}`;

/** Lambda writes times as `2026-01-01T00:00:00.000+0000`. */
const lambdaTime = (iso: string) => iso.replace(/Z$/, '+0000');

/** Lambda's CodeSha256 is the base64 of the digest; NanoGrid keeps hex. */
const base64Sha = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

/**
 * A FunctionConfiguration as Lambda returns it. `version` is `$LATEST` for the
 * newest version seen unqualified, else the version number.
 */
export function functionConfiguration(
  meta: FunctionMeta,
  id: LambdaIdentity,
  version: string = String(meta.version),
): Record<string, unknown> {
  return {
    FunctionName: meta.function_name,
    FunctionArn: functionArn(id, meta.function_name, version === '$LATEST' ? undefined : version),
    Runtime: meta.runtime,
    Role: `arn:aws:iam::${id.accountId}:role/nanogrid-function`,
    Handler: meta.handler,
    CodeSize: meta.code_size,
    Description: '',
    Timeout: meta.timeout,
    MemorySize: meta.memory_mb,
    LastModified: lambdaTime(meta.created_at),
    CodeSha256: base64Sha(meta.code_sha256),
    Version: version,
    Environment: { Variables: meta.env ?? {} },
    TracingConfig: { Mode: 'PassThrough' },
    RevisionId: `${meta.function_id}-${meta.version}`,
    State: 'Active',
    LastUpdateStatus: 'Successful',
    PackageType: 'Zip',
    Architectures: ['x86_64'],
    EphemeralStorage: { Size: 512 },
  };
}

export function aliasConfiguration(functionName: string, alias: FunctionAlias, id: LambdaIdentity) {
  return {
    AliasArn: functionArn(id, functionName, alias.alias),
    Name: alias.alias,
    FunctionVersion: String(alias.version),
    Description: '',
    RevisionId: `${alias.alias}-${alias.version}-${Date.parse(alias.updated_at) || 0}`,
  };
}
