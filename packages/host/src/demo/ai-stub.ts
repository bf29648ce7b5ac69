import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the stub answered. */
export interface AiStubRequest {
  method: string;
  path: string;
  /** The parsed JSON body ({} when there was none). */
  body: Record<string, unknown>;
  /** The text it answered with (`response` or `message.content`). */
  reply: string;
}

export interface AiStubOptions {
  /**
   * Address to listen on. A function in the Docker sandbox under policy `ai`
   * reaches the host through the Docker bridge, so listen on `0.0.0.0` or the
   * bridge's address there (as Ollama needs `OLLAMA_HOST=0.0.0.0`).
   * @default '127.0.0.1'
   */
  host?: string;
  /** @default 0 (any free port) */
  port?: number;
  /** The model's answer to a prompt (for chat: the last user message). @default summarizeLikeAModel */
  reply?: (prompt: string, model: string) => string;
}

export interface AiStub {
  /** `http://{host}:{port}`: what goes into `ai: { endpoint }`. */
  readonly url: string;
  readonly port: number;
  /** Every request answered, oldest first. */
  readonly requests: AiStubRequest[];
  close(): Promise<void>;
}

/**
 * A deterministic stand-in for a model: "Summary: " and the first sentence
 * of the text after the prompt's last blank line (where a summarizer puts it).
 */
export function summarizeLikeAModel(prompt: string): string {
  const text =
    prompt
      .split(/\n\s*\n/)
      .pop()
      ?.trim() ?? '';
  const first = /^[\s\S]*?[.!?](?=\s|$)/.exec(text)?.[0] ?? text;
  return `Summary: ${first.replace(/\s+/g, ' ').trim()}`;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  const parsed = JSON.parse(text) as unknown;
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * A small Ollama-compatible server for tests and the demo: `POST /api/generate`
 * and `POST /api/chat` (streamed as NDJSON unless `"stream": false`, as Ollama
 * does), `GET /api/tags`, and `GET /` answering "Ollama is running".
 */
export async function startAiStub(opts: AiStubOptions = {}): Promise<AiStub> {
  const reply = opts.reply ?? summarizeLikeAModel;
  const requests: AiStubRequest[] = [];

  const answer = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://stub').pathname;
    if (req.method === 'GET' && path === '/')
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('Ollama is running');
    if (req.method === 'GET' && path === '/api/tags')
      return answer(res, 200, { models: [{ name: 'stub:latest', model: 'stub:latest' }] });
    if (req.method !== 'POST' || (path !== '/api/generate' && path !== '/api/chat'))
      return answer(res, 404, { error: `no route ${req.method} ${path}` });

    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
    } catch (err) {
      return answer(res, 400, { error: `invalid JSON: ${(err as Error).message}` });
    }
    const model = str(body.model);
    if (!model) return answer(res, 400, { error: 'model is required' });
    const chat = path === '/api/chat';
    const messages = Array.isArray(body.messages) ? (body.messages as { role?: unknown; content?: unknown }[]) : [];
    const prompt = chat ? str(messages.filter((m) => m.role === 'user').pop()?.content) : str(body.prompt);
    const text = reply(prompt, model);
    requests.push({ method: req.method, path, body, reply: text });

    const base = { model, created_at: new Date().toISOString() };
    const piece = (content: string) => (chat ? { message: { role: 'assistant', content } } : { response: content });
    const done = { done: true, done_reason: 'stop', total_duration: 1_000_000, eval_count: text.split(/\s+/).length };
    if (body.stream === false) return answer(res, 200, { ...base, ...piece(text), ...done });
    // Ollama streams by default: one JSON object per line, the last with done: true.
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(`${JSON.stringify({ ...base, ...piece(text), done: false })}\n`);
    res.end(`${JSON.stringify({ ...base, ...piece(''), ...done })}\n`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) answer(res, 500, { error: err.message });
      else res.destroy(err);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? '127.0.0.1';
  // A wildcard address is not one to connect to; the loopback is (and the Docker sandbox rewrites it for containers).
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
