import { between, bytes, errorText, json, ms, time } from '../format.js';
import { href } from '../router.js';
import { client, signOut } from '../session.js';
import { followSse } from '../sse.js';
import { isUnauthorized } from '../use-async.js';
import type { Job } from '../vendor/client/index.js';
import { type VNode, html, useEffect, useLayoutEffect, useRef, useState } from '../vendor/htm-preact.js';

const FINAL = ['completed', 'failed', 'cancelled'];

/** The job record, polled until it is final. */
function useJob(id: string, tick: number): { job?: Job; error?: unknown } {
  const [state, setState] = useState<{ job?: Job; error?: unknown }>({});
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let live = true;
    const poll = async () => {
      try {
        const job = await client().status(id);
        if (!live) return;
        setState({ job });
        if (!FINAL.includes(job.status)) timer = setTimeout(poll, 1000);
      } catch (error) {
        if (isUnauthorized(error)) signOut();
        if (live) setState((s) => ({ ...s, error }));
      }
    };
    poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [id, tick]);
  return state;
}

interface LogLine {
  stream: string;
  line: string;
}

/** Log lines while the job runs, from `GET /jobs/{id}/logs?follow=1`; undefined if the stream is not served. */
function useLogStream(id: string, running: boolean, onEnd: () => void): LogLine[] | undefined {
  const [lines, setLines] = useState<LogLine[]>();
  useEffect(() => {
    if (!running) return;
    const stop = new AbortController();
    setLines([]);
    followSse(
      `/jobs/${encodeURIComponent(id)}/logs?follow=1`,
      (e) => {
        if (e.event === 'log') {
          const l = JSON.parse(e.data) as LogLine;
          setLines((prev) => [...(prev ?? []), l]);
        } else if (e.event === 'end') onEnd();
      },
      stop.signal,
    ).then(onEnd, () => !stop.signal.aborted && setLines(undefined));
    return () => stop.abort();
  }, [id, running]);
  return lines;
}

/** A final record without logs (a cancelled job's): the lines the store still keeps (`GET /jobs/{id}/logs`). */
function useKeptLines(id: string, needed: boolean): LogLine[] | undefined {
  const [lines, setLines] = useState<LogLine[]>();
  useEffect(() => {
    if (!needed) return;
    let live = true;
    client()
      .logs(id)
      .then(
        (r) => live && setLines(r.lines),
        () => undefined, // best effort: the page already says "no logs"
      );
    return () => {
      live = false;
    };
  }, [id, needed]);
  return lines;
}

/** Lines with their stream: stderr in the error colour. The newline goes in as a value (htm drops one written in the template). */
function lineSpans(lines: LogLine[]): VNode[] {
  return lines.map((l) => html`<span class=${l.stream === 'stderr' ? 'stderr' : undefined}>${`${l.line}\n`}</span>`);
}

/** One job: its timeline, payload, result or error, logs (live while it runs), output files, cancel. */
export function JobPage(props: { id: string }): VNode {
  const [tick, setTick] = useState(0);
  const { job, error } = useJob(props.id, tick);
  const running = !!job && !FINAL.includes(job.status);
  const streamed = useLogStream(props.id, running, () => setTick((t) => t + 1));
  const kept = useKeptLines(props.id, !!job && !running && !job.logs && !streamed?.length);
  // New lines keep the log scrolled to its end, unless the reader scrolled up to read.
  const logBox = useRef<HTMLPreElement>(null);
  const pinned = useRef(true);
  useLayoutEffect(() => {
    const el = logBox.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [streamed?.length]);
  const [note, setNote] = useState<string>();
  const cancel = async () => {
    try {
      await client().cancel(props.id);
      setTick((t) => t + 1);
    } catch (err) {
      setNote(errorText(err));
    }
  };
  if (error && !job) return html`<h1>Job</h1><p class="error" role="alert">${errorText(error)}</p>`;
  if (!job) return html`<h1>Job</h1><p class="muted">Loading…</p>`;
  // A cancelled job's record has no logs (its run's result is dropped): the lines streamed before the
  // cancel stay on the page, and a page opened later shows the lines the store still keeps.
  const logs =
    streamed?.length && (running || !job.logs)
      ? lineSpans(streamed)
      : job.logs || (kept?.length ? lineSpans(kept) : undefined);
  const fnName = job.function_name ?? job.function_id;
  return html`
    <p><a href=${href.jobs()}>← Jobs</a></p>
    <h1>Job <code>${job.job_id}</code></h1>
    <p>
      <span class=${`badge ${job.status}`} data-testid="job-status">${job.status}</span>
      ${' '}<a href=${href.fn(fnName)}>${fnName}</a>${job.function_version ? ` version ${job.function_version}` : ''}
      ${job.trigger ? ` · started by ${job.trigger}` : ''}
      ${running && html` <button type="button" class="danger small" onClick=${cancel}>Cancel job</button>`}
    </p>
    ${note && html`<p class="error" role="alert">${note}</p>`}
    <ol class="timeline" aria-label="Status timeline">
      <li>created ${time(job.created_at)}</li>
      ${job.started_at && html`<li>running ${time(job.started_at)} <span class="muted">after ${ms(between(job.created_at, job.started_at))} in the queue</span></li>`}
      ${job.finished_at && html`<li>${job.status} ${time(job.finished_at)} <span class="muted">ran ${ms(job.execution_time_ms ?? between(job.started_at, job.finished_at))}</span></li>`}
    </ol>
    <dl class="card facts">
      <dt>Worker</dt><dd>${job.worker ?? '–'}</dd>
      <dt>Start</dt><dd>${job.start ?? '–'}</dd>
      <dt>Attempts</dt><dd>${job.attempts ?? '–'}</dd>
      <dt>Peak memory</dt><dd>${bytes(job.peak_memory_bytes)}</dd>
    </dl>
    ${job.payload !== undefined && html`<h2>Payload</h2><pre class="code" data-testid="job-payload">${json(job.payload)}</pre>`}
    ${job.payload_bytes !== undefined && html`<h2>Payload</h2><p class="muted">${bytes(job.payload_bytes)}: too large to keep with the record.</p>`}
    ${job.status === 'completed' && html`<h2>Result</h2><pre class="code" data-testid="job-result">${json(job.result)}</pre>`}
    ${job.error && html`<h2>Error</h2><pre class="code error" data-testid="job-error">${job.error.code}${job.error.type ? ` (${job.error.type})` : ''}: ${job.error.message}${job.error.trace ? `\n\n${job.error.trace}` : ''}</pre>`}
    <h2>Logs ${running && streamed ? html`<span class="live stream">live</span>` : ''}</h2>
    <pre class="code logs" data-testid="job-logs" ref=${logBox} tabindex="0" aria-label="Logs"
      onScroll=${(e: Event) => {
        const el = e.currentTarget as HTMLElement;
        pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }} aria-live=${running ? 'polite' : 'off'}>${logs?.length ? logs : html`<span class="muted">no logs</span>`}</pre>
    ${
      job.output_files.length > 0 &&
      html`<h2>Output files</h2><ul class="plain">
      ${job.output_files.map((u) => html`<li><a href=${u} rel="noreferrer" download>${fileName(u)}</a></li>`)}
    </ul>`
    }`;
}

function fileName(url: string): string {
  try {
    return decodeURIComponent(new URL(url, location.href).pathname.split('/').pop() ?? url);
  } catch {
    return url;
  }
}
