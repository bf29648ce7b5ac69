// A local SQS for tests and for docker-compose: local-aws-sqs (a dev dependency,
// loaded only when this module is imported) with three fixes, behind an access-key check.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire, Module } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type * as LocalAwsSqs from 'local-aws-sqs';

/**
 * Three behaviours of local-aws-sqs 2.0.2 differ from SQS and would make correct client code fail:
 * 1. ChangeMessageVisibility increments ApproximateReceiveCount, so every heartbeat or retry
 *    counted as a delivery and a heartbeated job was dead-lettered early.
 * 2. A long poll asking for up to N messages waited the whole WaitTimeSeconds unless N arrived;
 *    SQS answers as soon as any message is there.
 * 3. ApproximateNumberOfMessages counted in-flight messages too; SQS counts visible ones only.
 * We load the real server with these two lines fixed, and fail loudly if the source changed.
 */
const FIXES: [string, string][] = [
  [
    'let n=Number(t.record.attributes.ApproximateReceiveCount)+1;',
    // Wt(message, timeout, keepReceipt): keepReceipt is only true for ChangeMessageVisibility.
    'let n=Number(t.record.attributes.ApproximateReceiveCount)+(i?0:1);',
  ],
  [
    'r.push(f)}if(r.length==e){clearInterval(c),clearTimeout(n),o();break}}},10)',
    'r.push(f)}if(r.length==e)break}r.length>0&&(clearInterval(c),clearTimeout(n),o())},10)',
  ],
  [
    'ApproximateNumberOfMessages:String(S(this,E).filter(o=>!o.delayed).length)',
    'ApproximateNumberOfMessages:String(S(this,E).filter(o=>!o.delayed&&o.visible).length)',
  ],
];

function loadFixedLocalSqs(): typeof LocalAwsSqs {
  const entry = createRequire(import.meta.url).resolve('local-aws-sqs');
  let source = readFileSync(entry, 'utf8');
  for (const [from, to] of FIXES) {
    if (source.split(from).length !== 2)
      throw new Error(`local-aws-sqs changed: cannot apply fix near "${from.slice(0, 40)}…"`);
    source = source.replace(from, to);
  }
  const mod = new Module(entry) as Module & { _compile(code: string, filename: string): void };
  mod.filename = entry;
  mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(entry));
  mod._compile(source, entry);
  return mod.exports as typeof LocalAwsSqs;
}

/** The only access key the local server accepts (local-aws-sqs itself checks none). */
export const LOCAL_SQS_CREDENTIALS = { accessKeyId: 'nanogrid-local', secretAccessKey: 'nanogrid-local-secret' };

export interface LocalSqs {
  endpoint: string;
  /** Closes the listener and cuts every connection; the queues and messages stay in memory. */
  stop(): Promise<void>;
  /** Listens again on the same port after `stop()`, with the queues and messages it had (as SQS keeps them). */
  start(): Promise<void>;
}

/** What SQS answers to a request signed with an unknown access key (JSON protocol). */
function rejectUnknownKey(req: IncomingMessage, res: ServerResponse): boolean {
  const key = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
  if (key === LOCAL_SQS_CREDENTIALS.accessKeyId) return false;
  req.resume();
  res.writeHead(400, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-query-error': 'InvalidClientTokenId;Sender',
  });
  res.end(
    JSON.stringify({
      __type: 'com.amazon.coral.service#UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    }),
  );
  return true;
}

/**
 * Starts a real local-aws-sqs (with the fixes above) on a random port. In front of it sits the
 * access-key check SQS does and local-aws-sqs skips, so wrong credentials fail as on AWS.
 */
export interface LocalSqsOptions {
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** Host name in the queue URLs it hands out (the name clients reach it by, e.g. `sqs` in compose). @default host */
  publicHost?: string;
}

export async function startLocalSqs(opts: LocalSqsOptions = {}): Promise<LocalSqs> {
  const host = opts.host ?? '127.0.0.1';
  const publicHost = opts.publicHost ?? host;
  const { createRequestHandler } = loadFixedLocalSqs();
  const { service, requestHandler } = createRequestHandler({
    port: 0,
    hostname: publicHost,
    emulateQueueCreationLifecycle: false,
  });
  const server = createServer((req, res) => {
    if (!rejectUnknownKey(req, res)) void requestHandler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  service.PORT = port; // queue URLs it hands out must point at the real port
  return {
    endpoint: `http://${publicHost}:${port}`,
    async stop() {
      if (!server.listening) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async start() {
      if (server.listening) return;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    },
  };
}
