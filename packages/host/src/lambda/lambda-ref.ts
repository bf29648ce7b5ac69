import { invalidParameter } from './lambda-error.js';

/** A function as a Lambda request names it: name, partial ARN or ARN, with an optional qualifier. */
export interface LambdaRef {
  name: string;
  /** `$LATEST`, a version number or an alias; absent means the newest version. */
  qualifier?: string;
}

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const QUALIFIER_RE = /^(\$LATEST|[0-9]{1,10}|[A-Za-z0-9_-]{1,128})$/;

/**
 * Reads `my-fn`, `my-fn:prod`, `123456789012:function:my-fn[:q]` and
 * `arn:aws:lambda:us-east-1:123456789012:function:my-fn[:q]`, as Lambda does.
 * A `Qualifier` query parameter must agree with one in the name.
 */
export function parseLambdaRef(raw: string, queryQualifier?: string): LambdaRef {
  const parts = raw.split(':');
  let rest: string[];
  if (parts[0] === 'arn') {
    if (parts.length < 7 || parts[2] !== 'lambda' || parts[5] !== 'function') {
      throw invalidParameter(`${raw} is not a Lambda function ARN (arn:aws:lambda:region:account:function:name)`);
    }
    rest = parts.slice(6);
  } else if (parts.length >= 3 && parts[1] === 'function') {
    rest = parts.slice(2);
  } else {
    rest = parts;
  }
  const [name = '', inName, ...extra] = rest;
  if (extra.length > 0 || !NAME_RE.test(name)) {
    throw invalidParameter(
      `1 validation error detected: Value '${raw}' at 'functionName' failed to satisfy constraint: ` +
        'a name of 1 to 64 letters, digits, hyphens and underscores, optionally with :version or :alias',
    );
  }
  if (inName !== undefined && queryQualifier !== undefined && inName !== queryQualifier) {
    throw invalidParameter(`The derived qualifier from the function name does not match the specified qualifier.`);
  }
  const qualifier = inName ?? queryQualifier;
  if (qualifier !== undefined && !QUALIFIER_RE.test(qualifier)) {
    throw invalidParameter(`Value '${qualifier}' at 'qualifier' failed to satisfy constraint`);
  }
  return qualifier === undefined ? { name } : { name, qualifier };
}

/** The NanoGrid reference (`name`, `name:3`, `name:prod`) for a Lambda one. */
export function registryRef(ref: LambdaRef): string {
  return ref.qualifier === undefined || ref.qualifier === '$LATEST' ? ref.name : `${ref.name}:${ref.qualifier}`;
}

/** What `Version` a reply shows: `$LATEST` for an unqualified reference, as Lambda does. */
export function shownVersion(ref: LambdaRef, version: number): string {
  return ref.qualifier === undefined || ref.qualifier === '$LATEST' ? '$LATEST' : String(version);
}
