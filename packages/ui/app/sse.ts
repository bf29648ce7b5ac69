import { NanoGridApiError } from './vendor/client/index.js';
import { authHeaders, signOut } from './session.js';

/** One Server-Sent Event. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Reads a Server-Sent Events stream with fetch, so the API key travels in a
 * header (EventSource can only send cookies or put it in the URL). Resolves
 * when the server ends the stream or `signal` aborts.
 */
export async function followSse(
  path: string,
  onEvent: (e: SseEvent) => void,
  signal: AbortSignal,
  onOpen?: () => void,
): Promise<void> {
  const res = await fetch(path, { headers: { ...authHeaders(), accept: 'text/event-stream' }, signal });
  if (res.status === 401) signOut();
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } };
    throw new NanoGridApiError(
      (body?.error?.code as 'BAD_RESPONSE' | undefined) ?? 'BAD_RESPONSE',
      body?.error?.message ?? `${path} answered ${res.status}`,
      { status: res.status },
    );
  }
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    await res.body.cancel();
    throw new NanoGridApiError('BAD_RESPONSE', `${path} did not answer with an event stream`, { status: res.status });
  }
  onOpen?.();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // Events end with a blank line; a partial one waits for the next chunk.
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = blocks.pop() ?? '';
      for (const block of blocks) {
        const e = parseBlock(block);
        if (e) onEvent(e);
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    reader.releaseLock();
  }
}

function parseBlock(block: string): SseEvent | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':')) continue; // a comment: keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length ? { event, data: data.join('\n') } : undefined;
}
