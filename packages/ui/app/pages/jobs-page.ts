import { errorText, ms, time } from '../format.js';
import { useLiveJobs } from '../live-jobs.js';
import { href } from '../router.js';
import { client } from '../session.js';
import { useAsync } from '../use-async.js';
import type { Job, JobStatus } from '../vendor/client/index.js';
import { type VNode, html, useState } from '../vendor/htm-preact.js';

const STATUSES: JobStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];

/** Recent jobs, live, filtered by function and status (the filters live in the URL). */
export function JobsPage(props: { fn?: string; status?: string }): VNode {
  const status = STATUSES.includes(props.status as JobStatus) ? (props.status as JobStatus) : undefined;
  const live = useLiveJobs({ fn: props.fn, status });
  // Pages past the live one, read on demand; `null` once the last one came.
  const [older, setOlder] = useState<{ jobs: Job[]; cursor: string | null | undefined }>({
    jobs: [],
    cursor: undefined,
  });
  const [olderError, setOlderError] = useState<unknown>();
  const nextCursor = older.cursor === undefined ? live.cursor : older.cursor;
  const loadOlder = async () => {
    if (!nextCursor) return;
    try {
      const page = await client().listJobs({
        ...(props.fn ? { function: props.fn } : {}),
        ...(status ? { status } : {}),
        limit: 50,
        cursor: nextCursor,
      });
      setOlder((o) => ({ jobs: [...o.jobs, ...page.jobs], cursor: page.next_cursor ?? null }));
    } catch (err) {
      setOlderError(err);
    }
  };
  const shown = new Set(live.jobs.map((j) => j.job_id));
  const rows = [...live.jobs, ...older.jobs.filter((j) => !shown.has(j.job_id))];
  const fns = useAsync(() => client().listFunctions(), []);
  const go = (q: { function?: string | undefined; status?: string | undefined }) => {
    location.hash = href.jobs({
      ...(q.function ? { function: q.function } : {}),
      ...(q.status ? { status: q.status } : {}),
    });
  };
  const value = (e: Event) => (e.target as HTMLSelectElement).value || undefined;
  return html`
    <h1>Jobs</h1>
    <form class="inline filters" aria-label="Filter jobs" onSubmit=${(e: Event) => e.preventDefault()}>
      <label>Function
        <select name="function" value=${props.fn ?? ''} onChange=${(e: Event) => go({ function: value(e), status })}>
          <option value="">all</option>
          ${fns.data?.map((f) => html`<option value=${f.function_name}>${f.function_name}</option>`)}
          ${props.fn && !fns.data?.some((f) => f.function_name === props.fn) ? html`<option value=${props.fn}>${props.fn}</option>` : ''}
        </select>
      </label>
      <label>Status
        <select name="status" value=${status ?? ''} onChange=${(e: Event) => go({ function: props.fn, status: value(e) })}>
          <option value="">all</option>
          ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      <span class=${`live ${live.mode}`} role="status" data-testid="live-mode">
        ${live.mode === 'stream' ? 'live' : live.mode === 'polling' ? 'polling (stream unavailable)' : 'connecting…'}
      </span>
    </form>
    ${live.error && live.mode !== 'stream' ? html`<p class="muted">${errorText(live.error)}</p>` : ''}
    <div class="table-wrap">
      <table data-testid="jobs-table">
        <thead><tr><th>Job</th><th>Function</th><th>Status</th><th>Created</th><th class="num">Duration</th><th>Start</th></tr></thead>
        <tbody>
          ${rows.map(
            (j) => html`<tr key=${j.job_id}>
              <td><a href=${href.job(j.job_id)}><code>${j.job_id.slice(0, 8)}</code></a></td>
              <td>${j.function_name ?? j.function_id}${j.function_version ? `:${j.function_version}` : ''}</td>
              <td><span class=${`badge ${j.status}`}>${j.status}</span></td>
              <td>${time(j.created_at)}</td>
              <td class="num">${ms(j.execution_time_ms)}</td>
              <td>${j.start ?? ''}</td>
            </tr>`,
          )}
          ${rows.length === 0 ? html`<tr><td colspan="6" class="muted">No jobs match.</td></tr>` : ''}
        </tbody>
      </table>
    </div>
    ${olderError ? html`<p class="error" role="alert">${errorText(olderError)}</p>` : ''}
    ${nextCursor && html`<button type="button" class="secondary" onClick=${loadOlder}>Older jobs</button>`}`;
}
