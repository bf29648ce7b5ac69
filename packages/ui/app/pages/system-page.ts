import { errorText, json } from '../format.js';
import { client } from '../session.js';
import { useAsync } from '../use-async.js';
import { type VNode, html, useEffect } from '../vendor/htm-preact.js';

/** Controllers and workers seen, the queue, scaling, sandbox and backends (`GET /system`), refreshed every 5 s. */
export function SystemPage(): VNode {
  const sys = useAsync(() => client().request<Record<string, unknown>>('GET', '/system'), []);
  useEffect(() => {
    const t = setInterval(sys.reload, 5000);
    return () => clearInterval(t);
  }, [sys.reload]);
  return html`
    <h1>System</h1>
    ${sys.error ? html`<p class="error" role="alert">${errorText(sys.error)}</p>` : ''}
    ${sys.data && html`<pre class="code">${json(sys.data)}</pre>`}`;
}
