import { errorText, time } from '../format.js';
import { href } from '../router.js';
import { client } from '../session.js';
import { useAsync } from '../use-async.js';
import type { FunctionInfo } from '../vendor/client/index.js';
import { type VNode, html, useState } from '../vendor/htm-preact.js';
import { DeployForm } from './deploy-form.js';

/** Every function at its latest version, its last hour of calls, deploy and delete. */
export function FunctionsPage(): VNode {
  const fns = useAsync(() => client().listFunctions(), []);
  // Counted by the workers as jobs end (GET /stats/functions), keyed by function id.
  const counts = useAsync(async () => {
    const summary = await client().statsSummary({ window: '1h' });
    return new Map(summary.functions.map((f) => [f.function_id, f]));
  }, []);
  const [note, setNote] = useState<{ ok: boolean; text: string }>();
  const remove = async (f: FunctionInfo) => {
    if (!confirm(`Delete ${f.function_name} and every version of it?`)) return;
    try {
      await client().deleteFunction(f.function_name);
      setNote({ ok: true, text: `Deleted ${f.function_name}.` });
      fns.reload();
    } catch (err) {
      setNote({ ok: false, text: errorText(err) });
    }
  };
  const list = fns.data ?? [];
  return html`
    <h1>Functions</h1>
    ${fns.error ? html`<p class="error" role="alert">${errorText(fns.error)}</p>` : ''}
    ${counts.error ? html`<p class="muted">Statistics unavailable: ${errorText(counts.error)}</p>` : ''}
    ${note && html`<p class=${note.ok ? 'ok' : 'error'} role="status">${note.text}</p>`}
    <div class="table-wrap">
      <table>
        <caption class="muted">Invocations and errors over the last hour</caption>
        <thead><tr><th>Name</th><th>Runtime</th><th>Version</th><th class="num">Invocations</th><th class="num">Errors</th><th>Deployed</th><th><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>
          ${list.map((f) => {
            const c = counts.data?.get(f.function_id);
            return html`<tr>
              <td><a href=${href.fn(f.function_name)}>${f.function_name}</a></td>
              <td>${f.runtime}</td>
              <td>${f.version}</td>
              <td class="num">${counts.data ? (c?.invocations ?? 0) : '…'}</td>
              <td class="num">${counts.data ? (c?.errors ?? 0) : '…'}</td>
              <td>${time(f.created_at)}</td>
              <td><button type="button" class="danger small" aria-label=${`Delete ${f.function_name}`}
                onClick=${() => remove(f)}>Delete</button></td>
            </tr>`;
          })}
          ${!fns.loading && list.length === 0 ? html`<tr><td colspan="7" class="muted">No functions yet: deploy one below.</td></tr>` : ''}
        </tbody>
      </table>
    </div>
    <${DeployForm} onDeployed=${() => (fns.reload(), counts.reload())} />`;
}
