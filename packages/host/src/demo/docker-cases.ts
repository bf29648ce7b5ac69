import { crc32, deflateSync } from 'node:zlib';
import { type AiStub, startAiStub } from './ai-stub.js';
import type { DemoCase, DemoJob } from './demo-cases.js';

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([head, body, crc]);
}

/** A `width`×`height` RGB gradient as a PNG file (no image library needed to make a test picture). */
export function gradientPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 3); // each row starts with filter type 0
    for (let x = 0; x < width; x++) {
      rows.set(
        [Math.round((255 * x) / Math.max(1, width - 1)), Math.round((255 * y) / Math.max(1, height - 1)), 128],
        row + 1 + x * 3,
      );
    }
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(rows)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The text the summarizer case sends; the demo's stub answers with its first sentence. */
export const SUMMARIZER_TEXT =
  'NanoGrid runs functions in Docker containers on your own machines. Each run gets a fresh container with no network, ' +
  'a read-only root and a memory limit. Functions that need a language model call a private endpoint instead of a cloud API.';

const completed = (job: DemoJob): Record<string, unknown> | string =>
  job.status === 'completed' && typeof job.result === 'object' && job.result !== null
    ? (job.result as Record<string, unknown>)
    : `expected completed, got ${job.status} ${job.error ? `${job.error.code}: ${job.error.message}` : JSON.stringify(job.result)}`;

/**
 * Examples that need the Docker sandbox: the summarizer reaches the AI
 * endpoint under policy `ai` (the demo starts a stub, `startDemoAi`), the
 * image processor needs Pillow from the fat image.
 */
export const DOCKER_CASES: DemoCase[] = [
  {
    title: 'summarizer (private AI)',
    file: 'summarizer.py',
    runtime: 'python3.11',
    handler: 'summarizer.handler',
    network: 'ai',
    timeout: 30,
    payload: { text: SUMMARIZER_TEXT, model: 'llama3.2' },
    mode: 'sync',
    check(job) {
      const r = completed(job);
      if (typeof r === 'string') return r;
      return r['summary'] === 'Summary: NanoGrid runs functions in Docker containers on your own machines.'
        ? undefined
        : `expected the stub model's summary, got ${JSON.stringify(r)}`;
    },
  },
  {
    title: 'image processor (Pillow)',
    file: 'image_processor.py',
    runtime: 'python3-fat',
    handler: 'image_processor.handler',
    timeout: 60,
    payload: { image: gradientPng(48, 32).toString('base64'), width: 24 },
    mode: 'sync',
    check(job) {
      const r = completed(job);
      if (typeof r === 'string') return r;
      const resized = r['resized'] as { width?: number; height?: number } | undefined;
      if (resized?.width !== 24 || resized.height !== 16) return `expected a 24x16 picture, got ${JSON.stringify(r)}`;
      const files = job.output_files ?? [];
      return files.length === 1 && new URL(files[0] ?? '').pathname.endsWith('/resized.png')
        ? undefined
        : `expected one link to resized.png, got ${JSON.stringify(files)}`;
    },
  },
];

/**
 * The demo's stand-in for Ollama, set up as Ollama is for the Docker sandbox:
 * listening on every address (`OLLAMA_HOST=0.0.0.0`), the endpoint given as
 * the loopback, which the sandbox rewrites to `host.docker.internal` for
 * containers under policy `ai`. It answers canned summaries and lives only
 * as long as the demo.
 */
export function startDemoAi(): Promise<AiStub> {
  return startAiStub({ host: '0.0.0.0' });
}
