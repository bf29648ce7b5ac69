import { errorText, json } from '../format.js';
import { client } from '../session.js';
import { useAsync } from '../use-async.js';
import { type VNode, html, useState } from '../vendor/htm-preact.js';

interface Schedule {
  schedule_id: string;
  function: string;
  schedule: string;
  timezone: string;
  payload: unknown;
  created_at: string;
}

const path = (name: string, id?: string) =>
  `/functions/${encodeURIComponent(name)}/schedules${id ? `/${encodeURIComponent(id)}` : ''}`;

/** A function's schedules (`rate(5 minutes)` or cron): listed, added, deleted. */
export function Schedules(props: { name: string }): VNode {
  const list = useAsync(() => client().request<{ schedules: Schedule[] }>('GET', path(props.name)), [props.name]);
  const [expr, setExpr] = useState('');
  const [error, setError] = useState<string>();
  const act = async (f: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await f();
      list.reload();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const add = (e: Event) => {
    e.preventDefault();
    act(async () => {
      await client().request('POST', path(props.name), { json: { schedule: expr.trim() } });
      setExpr('');
    });
  };
  const items = list.data?.schedules ?? [];
  return html`<section aria-labelledby="schedules-title">
    <h2 id="schedules-title">Schedules</h2>
    ${list.error ? html`<p class="error">${errorText(list.error)}</p>` : ''}
    ${list.data && items.length === 0 ? html`<p class="muted">No schedules.</p>` : ''}
    <ul class="plain" data-testid="schedules">${items.map(
      (s) => html`<li><code>${s.schedule}</code> (${s.timezone}) runs <code>${s.function}</code> with
        <code>${json(s.payload)}</code>
        <button type="button" class="small danger" aria-label=${`Delete schedule ${s.schedule}`}
          onClick=${() => act(() => client().request('DELETE', path(props.name, s.schedule_id)))}>Delete</button></li>`,
    )}</ul>
    <form class="inline" onSubmit=${add} aria-label="Add a schedule">
      <label>Schedule <input name="schedule" required placeholder="rate(5 minutes) or 0 9 * * 1-5" value=${expr}
        onInput=${(e: Event) => setExpr((e.target as HTMLInputElement).value)} /></label>
      <button type="submit" class="secondary">Add schedule</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}
