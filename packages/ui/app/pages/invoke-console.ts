import { errorText, json, ms } from '../format.js';
import { href } from '../router.js';
import { client } from '../session.js';
import { followSse } from '../sse.js';
import type { Job, NanoGridClient } from '../vendor/client/index.js';
import { type VNode, html, useEffect, useRef, useState } from '../vendor/htm-preact.js';

/**
 * Waits for a queued job while its lines stream in (`GET /jobs/{id}/logs?follow=1`
 * ends with the job); polls instead when the stream is not served.
 */
async function follow(api: NanoGridClient, id: string, onLine: (line: string) => void, signal: AbortSignal) {
  try {
    await followSse(
      `/jobs/${encodeURIComponent(id)}/logs?follow=1`,
      (e) => e.event === 'log' && onLine((JSON.parse(e.data) as { line: string }).line),
      signal,
    );
    return await api.status(id, { signal });
  } catch (err) {
    if (signal.aborted) throw err;
    return api.wait(id, { intervalMs: 200, signal });
  }
}

/** Parses the editor's text: an empty editor is `{}`; anything else must be JSON. */
function parse(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (!text.trim()) return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** Runs the function with a JSON payload and shows what came back: result or error, logs, timing. */
export function InvokeConsole(props: { fnRef: string; targets: string[]; onRan?: () => void }): VNode {
  const [target, setTarget] = useState(props.fnRef);
  const [text, setText] = useState('{\n  \n}');
  const [busy, setBusy] = useState(false);
  const [job, setJob] = useState<Job>();
  const [failure, setFailure] = useState<string>();
  const [lines, setLines] = useState<string[]>();
  // The page going away stops following the call.
  const gone = useRef(new AbortController());
  useEffect(() => () => gone.current.abort(), []);
  const parsed = parse(text);
  const run = async (async: boolean) => {
    if (!parsed.ok) return;
    setBusy(true);
    setFailure(undefined);
    setJob(undefined);
    setLines(undefined);
    try {
      const api = client();
      // Queued, then followed: a sync POST /run answers a failed job with a 500, which the browser logs as an error.
      const submitted = await api.submit(target, parsed.value);
      if (async) {
        location.hash = href.job(submitted.job_id);
        return;
      }
      setLines([]);
      const signal = gone.current.signal;
      const done = await follow(api, submitted.job_id, (l) => setLines((prev) => [...(prev ?? []), l]), signal);
      setJob(done);
      props.onRan?.();
    } catch (err) {
      setFailure(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: Event) => (e.preventDefault(), run(false));
  return html`
    <form class="card invoke" onSubmit=${submit} aria-labelledby="invoke-title">
      <h2 id="invoke-title">Invoke</h2>
      <label>Version or alias
        <select name="target" value=${target} onChange=${(e: Event) => setTarget((e.target as HTMLSelectElement).value)}>
          ${props.targets.map((t) => html`<option value=${t}>${t}</option>`)}
        </select>
      </label>
      <label for="payload">Payload (JSON)</label>
      <textarea id="payload" name="payload" rows="6" spellcheck="false" class="code" aria-invalid=${!parsed.ok}
        aria-describedby="payload-help" value=${text} onInput=${(e: Event) => setText((e.target as HTMLTextAreaElement).value)}
        onKeyDown=${(e: KeyboardEvent) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) e.preventDefault(), run(false);
        }}></textarea>
      <p id="payload-help" class=${parsed.ok ? 'muted' : 'error'}>
        ${parsed.ok ? 'Ctrl+Enter runs it.' : `Not JSON: ${parsed.error}`}
      </p>
      <div class="row">
        <button type="submit" disabled=${busy || !parsed.ok}>${busy ? 'Running…' : 'Run'}</button>
        <button type="button" class="secondary" disabled=${busy || !parsed.ok} onClick=${() => run(true)}>Run async</button>
      </div>
      ${failure && html`<p class="error" role="alert">${failure}</p>`}
      ${!job && lines?.length ? html`<h3>Logs <span class="live stream">live</span></h3><pre class="code logs" data-testid="invoke-live-logs">${lines.join('\n')}</pre>` : ''}
      ${job && html`<${CallResult} job=${job} />`}
    </form>`;
}

function CallResult(props: { job: Job }): VNode {
  const j = props.job;
  return html`<section class="result" aria-live="polite" aria-label="Result of the call">
    <p>
      <span class=${`badge ${j.status}`}>${j.status}</span>
      ${' '}${ms(j.execution_time_ms)}${j.start ? ` · ${j.start} start` : ''} ·
      ${' '}<a href=${href.job(j.job_id)}>job ${j.job_id}</a>
    </p>
    ${j.status === 'completed' && html`<h3>Result</h3><pre class="code" data-testid="invoke-result">${json(j.result)}</pre>`}
    ${j.error && html`<h3>Error</h3><pre class="code error" data-testid="invoke-error">${j.error.code}: ${j.error.message}${j.error.trace ? `\n\n${j.error.trace}` : ''}</pre>`}
    ${j.logs && html`<h3>Logs</h3><pre class="code logs">${j.logs}</pre>`}
  </section>`;
}
