import { errorText } from './format.js';
import { client, storeKey } from './session.js';
import { type VNode, html, useState } from './vendor/htm-preact.js';

/** The key is checked against the API before it is kept in session storage. */
export function SignIn(props: { onSignedIn: () => void }): VNode {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await client(key.trim()).listFunctions();
      storeKey(key.trim());
      props.onSignedIn();
    } catch (err) {
      setError((err as { code?: string }).code === 'UNAUTHORIZED' ? 'This API key is not accepted.' : errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return html`
    <main class="sign-in">
      <h1>NanoGrid</h1>
      <form onSubmit=${submit} class="card" aria-describedby="sign-in-help">
        <p id="sign-in-help">This controller needs an API key. It is kept in this tab's session storage only.</p>
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="current-password" required autofocus
          value=${key} onInput=${(e: Event) => setKey((e.target as HTMLInputElement).value)} />
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit" disabled=${busy || !key.trim()}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>`;
}
