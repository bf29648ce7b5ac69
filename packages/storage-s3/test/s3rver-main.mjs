// Runs a real s3rver in its own process for the tests. Its own process because s3rver
// encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers in the
// legacy provider (the parent starts us with --openssl-legacy-provider).
// stdout: one JSON line {"port"} once listening, then {"req": "METHOD url"} per request.
import S3rver from 's3rver';

const directory = process.argv[2];
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
const { port } = await server.run();
server.httpServer.prependListener('request', (req) => {
  process.stdout.write(`${JSON.stringify({ req: `${req.method} ${req.url}` })}\n`);
});
process.stdout.write(`${JSON.stringify({ port })}\n`);
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent closing our stdin means it is gone: don't outlive it.
process.stdin.on('end', stop);
process.stdin.resume();
