import { errorText, ms, time } from '../format.js';
import { client } from '../session.js';
import { useAsync } from '../use-async.js';
import type { HostInfo } from '../vendor/client/index.js';
import { type VNode, html, useEffect } from '../vendor/htm-preact.js';

const REFRESH_MS = 5000;

function Hosts(props: { title: string; hosts: HostInfo[]; workers?: boolean }): VNode {
  return html`<section class="card" aria-labelledby=${`${props.title}-title`}>
    <h2 id=${`${props.title}-title`}>${props.title} <span class="muted">(${props.hosts.length})</span></h2>
    ${
      props.hosts.length === 0
        ? html`<p class="muted">None seen in the last heartbeats.</p>`
        : html`<div class="table-wrap"><table>
      <thead><tr><th>Id</th><th>Role</th><th>Host</th><th>Sandbox</th>${props.workers ? html`<th class="num">Running</th>` : ''}<th>Up since</th><th>Last seen</th><th>Version</th></tr></thead>
      <tbody>${props.hosts.map(
        (h) => html`<tr>
          <td><code>${h.id}</code></td><td>${h.role}</td><td>${h.hostname} <span class="muted">pid ${h.pid}</span></td>
          <td>${h.sandbox.name}${h.sandbox.isolated ? '' : html` <span class="badge failed">not isolated</span>`}</td>
          ${props.workers ? html`<td class="num">${h.in_flight ?? '–'} / ${h.concurrency ?? '–'}</td>` : ''}
          <td>${time(h.started_at)}</td><td>${time(h.last_seen)}</td><td>${h.version}</td>
        </tr>`,
      )}</tbody>
    </table></div>`
    }
  </section>`;
}

/** Controllers and workers seen, the queue, scaling, sandbox and backends (`GET /system`), refreshed every 5 s. */
export function SystemPage(): VNode {
  const sys = useAsync(() => client().system(), []);
  useEffect(() => {
    const t = setInterval(sys.reload, REFRESH_MS);
    return () => clearInterval(t);
  }, [sys.reload]);
  const s = sys.data;
  return html`
    <h1>System</h1>
    ${sys.error ? html`<p class="error" role="alert">${errorText(sys.error)}</p>` : ''}
    ${
      s &&
      html`
      <dl class="card facts" data-testid="system-facts">
        <dt>Answered by</dt><dd><code>${s.host.id}</code> (${s.host.role}, version ${s.host.version}, up ${ms(s.host.uptime_s * 1000)})</dd>
        <dt>Queue</dt><dd>${s.queue.name}: ${s.queue.depth === null ? html`<span class="error">not answering</span>` : `${s.queue.depth} waiting`}</dd>
        <dt>Desired workers</dt><dd>${s.desired_workers}</dd>
        <dt>Sandbox</dt><dd>${s.sandbox.name}${s.sandbox.isolated ? ' (isolated)' : html` <span class="badge failed">not isolated</span>`}</dd>
        <dt>Presence</dt><dd>${s.presence}</dd>
      </dl>
      <section class="card" aria-labelledby="backends-title">
        <h2 id="backends-title">Backends</h2>
        <div class="table-wrap"><table>
          <thead><tr><th>Role</th><th>Plugin</th><th>Health</th><th class="num">Latency</th><th>Error</th></tr></thead>
          <tbody>${s.backends.map(
            (b) => html`<tr>
              <td>${b.role}</td><td>${b.name}</td>
              <td><span class=${`badge ${b.status === 'ok' ? 'completed' : b.status === 'failing' ? 'failed' : 'cancelled'}`}>${b.status}</span></td>
              <td class="num">${ms(b.latency_ms)}</td>
              <td>${b.error ? `${b.error.code}: ${b.error.message}` : ''}</td>
            </tr>`,
          )}</tbody>
        </table></div>
      </section>
      <${Hosts} title="Controllers" hosts=${s.controllers} />
      <${Hosts} title="Workers" hosts=${s.workers} workers=${true} />
      <p class="muted">Refreshed every ${REFRESH_MS / 1000} s · ${time(s.now)}</p>`
    }`;
}
