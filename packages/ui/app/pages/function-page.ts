import { bytes, errorText, time } from '../format.js';
import { href } from '../router.js';
import { client } from '../session.js';
import { useAsync } from '../use-async.js';
import { type VNode, html, useState } from '../vendor/htm-preact.js';
import { AliasForm } from './alias-form.js';
import { FunctionCharts } from './function-charts.js';
import { InvokeConsole } from './invoke-console.js';
import { Schedules } from './schedules.js';

/** One function: its versions and aliases, settings, schedules, an invoke console and its last hour. */
export function FunctionPage(props: { fnRef: string }): VNode {
  const name = props.fnRef;
  const [refresh, setRefresh] = useState(0);
  const versions = useAsync(() => client().versions(name), [name, refresh]);
  const v = versions.data;
  const latest = v?.versions.reduce((a, b) => (b.version > a.version ? b : a), v.versions[0]!);
  const targets = v
    ? [name, ...v.aliases.map((a) => `${name}:${a.alias}`), ...v.versions.map((x) => `${name}:${x.version}`)]
    : [name];
  return html`
    <p><a href=${href.functions()}>← Functions</a></p>
    <h1>${name}</h1>
    ${versions.error ? html`<p class="error" role="alert">${errorText(versions.error)}</p>` : ''}
    ${
      latest &&
      html`<dl class="card facts">
      <dt>Runtime</dt><dd>${latest.runtime}</dd>
      <dt>Handler</dt><dd><code>${latest.handler}</code></dd>
      <dt>Latest version</dt><dd>${latest.version}</dd>
      <dt>Timeout</dt><dd>${latest.timeout} s</dd>
      <dt>Memory</dt><dd>${latest.memory_mb} MB</dd>
      <dt>Network</dt><dd>${latest.network}</dd>
      <dt>Env keys</dt><dd>${latest.env_keys.length ? latest.env_keys.map((k) => html`<code class="tag">${k}</code> `) : 'none'}</dd>
      <dt>Code</dt><dd>${bytes(latest.code_size)} · <code title=${latest.code_sha256}>${latest.code_sha256.slice(0, 12)}</code></dd>
      <dt>Jobs</dt><dd><a href=${href.jobs({ function: name })}>recent jobs of ${name}</a></dd>
    </dl>`
    }
    <div class="columns">
      <${InvokeConsole} fnRef=${name} targets=${targets} onRan=${() => setRefresh((r) => r + 1)} />
      <section class="card" aria-labelledby="versions-title">
        <h2 id="versions-title">Versions</h2>
        <div class="table-wrap"><table>
          <thead><tr><th>Version</th><th>Runtime</th><th>Size</th><th>Created</th><th>Aliases</th></tr></thead>
          <tbody>${v?.versions.map(
            (
              x,
            ) => html`<tr><td>${x.version}</td><td>${x.runtime}</td><td>${bytes(x.code_size)}</td><td>${time(x.created_at)}</td>
              <td>${v.aliases.filter((a) => a.version === x.version).map((a) => html`<code class="tag">${a.alias}</code> `)}</td></tr>`,
          )}</tbody>
        </table></div>
        ${
          v &&
          html`<${AliasForm} name=${name} versions=${v.versions.map((x) => x.version)} aliases=${v.aliases}
          onChanged=${() => setRefresh((r) => r + 1)} />`
        }
        <${Schedules} name=${name} />
      </section>
    </div>
    <${FunctionCharts} name=${name} refresh=${refresh} />`;
}
