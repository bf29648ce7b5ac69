import { errorText } from '../format.js';
import { client } from '../session.js';
import type { AliasInfo } from '../vendor/client/index.js';
import { type VNode, html, useState } from '../vendor/htm-preact.js';

/** Points an alias at a version (creates or moves it), or deletes one. */
export function AliasForm(props: {
  name: string;
  versions: number[];
  aliases: AliasInfo[];
  onChanged: () => void;
}): VNode {
  const [alias, setAlias] = useState('');
  const [version, setVersion] = useState(String(props.versions[props.versions.length - 1] ?? ''));
  const [error, setError] = useState<string>();
  const act = async (f: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await f();
      props.onChanged();
    } catch (err) {
      setError(errorText(err));
    }
  };
  const submit = (e: Event) => {
    e.preventDefault();
    act(() => client().setAlias(props.name, alias.trim(), Number(version)));
  };
  return html`<form class="inline" onSubmit=${submit} aria-label="Set an alias">
    <label>Alias <input name="alias" required value=${alias} onInput=${(e: Event) => setAlias((e.target as HTMLInputElement).value)} /></label>
    <label>Version <select name="version" value=${version} onChange=${(e: Event) => setVersion((e.target as HTMLSelectElement).value)}>
      ${props.versions.map((n) => html`<option value=${String(n)}>${n}</option>`)}
    </select></label>
    <button type="submit" class="secondary">Set alias</button>
    ${props.aliases.map(
      (a) => html`<button type="button" class="small danger" aria-label=${`Delete alias ${a.alias}`}
        onClick=${() => act(() => client().deleteAlias(props.name, a.alias))}>× ${a.alias}</button>`,
    )}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}
