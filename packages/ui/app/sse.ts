import { client, signOut } from './session.js';
import { NanoGridApiError, type ServerEvent, readEventStream } from './vendor/client/index.js';

/**
 * Reads a Server-Sent Events stream of the API with fetch, so the API key
 * travels in a header (EventSource can only send cookies or put it in the URL).
 * `onOpen` runs once the stream answers; resolves when the server ends it or
 * `signal` aborts.
 */
export async function followSse(
  path: string,
  onEvent: (e: ServerEvent) => void,
  signal: AbortSignal,
  onOpen?: () => void,
): Promise<void> {
  let res: Response;
  try {
    res = await client().request<Response>('GET', path, {
      raw: true,
      headers: { accept: 'text/event-stream' },
      signal,
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'UNAUTHORIZED') signOut();
    throw err;
  }
  if (!res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    await res.body?.cancel();
    throw new NanoGridApiError('BAD_RESPONSE', `${path} did not answer with an event stream`, { status: res.status });
  }
  onOpen?.();
  try {
    for await (const e of readEventStream(res.body)) onEvent(e);
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}
