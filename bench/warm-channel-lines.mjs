// The host's CPU to read a warm server's answers: the line splitter of the warm channel (a cap per line, lines as
// bytes) against node:readline, which the channel used before, alternated in one run (no server, no sandbox):
//   node bench/warm-channel-lines.mjs [rounds=5] [n=100000]
// Each round pushes n answers (a META and a RESULT line, as a trivial call's) through a PassThrough into each reader
// and prints the process's CPU (user + system) per answer, median of the rounds. Needs `npx tsc -b` first.
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { LineSplitter } from '../packages/core/dist/sandbox/line-splitter.js';

const rounds = Number(process.argv[2] ?? 5);
const n = Number(process.argv[3] ?? 100_000);
const LOG = '\u001eNANOGRID_LOG ';
const answer = Buffer.from(
  '\u001eNANOGRID_META {"logs":"","outputs":0}\n\u001eNANOGRID_RESULT {"ok":true,"result":{"message":"Hello"}}\n',
);

/** CPU µs per answer of one reader over n answers. */
async function once(kind) {
  const stream = new PassThrough();
  let lines = 0;
  const done = new Promise((resolve) => {
    if (kind === 'readline') {
      const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
      rl.on('line', (line) => {
        if (!line.startsWith(LOG)) lines++;
      });
      rl.on('close', resolve);
    } else {
      const splitter = new LineSplitter(
        64 * 1024 * 1024,
        (bytes) => {
          bytes.toString('utf8');
          lines++;
        },
        () => undefined,
      );
      stream.on('data', (chunk) => splitter.push(chunk));
      stream.on('end', resolve);
    }
  });
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) stream.write(answer);
  stream.end();
  await done;
  const used = process.cpuUsage(start);
  if (lines !== 2 * n) throw new Error(`${kind} read ${lines} lines, not ${2 * n}`);
  return (used.user + used.system) / n;
}

const results = { readline: [], splitter: [] };
for (let r = 0; r < rounds; r++) for (const kind of Object.keys(results)) results[kind].push(await once(kind));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log('| reader | CPU per answer, µs (median) |\n| --- | --- |');
for (const [kind, xs] of Object.entries(results)) console.log(`| ${kind} | ${median(xs).toFixed(2)} |`);
