import { errorText } from '../format.js';
import { client } from '../session.js';
import { type FunctionInfo, NanoGridApiError } from '../vendor/client/index.js';
import { type VNode, html, useState } from '../vendor/htm-preact.js';

// The API's rule for names; `-` escaped as the `v`-mode regex of the pattern attribute requires.
const NAME_PATTERN = '[A-Za-z0-9_\\-]+';
const RUNTIMES = ['python3.11', 'python3.9', 'python3-fat', 'nodejs20.x', 'nodejs18.x', 'cpp', 'go'];
const BY_EXTENSION: Record<string, string> = {
  py: 'python3.11',
  js: 'nodejs20.x',
  mjs: 'nodejs20.x',
  cjs: 'nodejs20.x',
  cpp: 'cpp',
  cc: 'cpp',
  go: 'go',
};

/** `hello.py` → `hello`; names follow the API's rule (letters, digits, - and _). */
function nameOf(fileName: string): string {
  return fileName
    .replace(/\.[^.]+$/, '')
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .slice(0, 64);
}

/** Deploys a file or zip: dropped on the zone or picked with the file input (the keyboard's way). */
export function DeployForm(props: { onDeployed: (f: FunctionInfo) => void }): VNode {
  const [file, setFile] = useState<File>();
  const [name, setName] = useState('');
  const [runtime, setRuntime] = useState('');
  const [handler, setHandler] = useState('');
  const [timeout, setTimeoutSec] = useState('');
  const [dragging, setDragging] = useState(false);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();

  const pick = (f: File | undefined) => {
    if (!f) return;
    setFile(f);
    setMessage(undefined);
    if (!name) setName(nameOf(f.name));
    const ext = f.name.split('.').pop()?.toLowerCase() ?? '';
    if (!runtime && BY_EXTENSION[ext]) setRuntime(BY_EXTENSION[ext]);
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    pick(e.dataTransfer?.files[0]);
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return setMessage({ ok: false, text: 'Choose a file (.py, .js, .cpp, .go or .zip) first.' });
    const seconds = timeout.trim() ? Number(timeout) : undefined;
    if (seconds !== undefined && !(Number.isInteger(seconds) && seconds > 0)) {
      return setMessage({ ok: false, text: 'Timeout is a whole number of seconds.' });
    }
    setBusy(true);
    try {
      const f = await client().deploy({
        name: name.trim(),
        runtime: runtime.trim(),
        code: file,
        fileName: file.name,
        ...(handler.trim() ? { handler: handler.trim() } : {}),
        ...(seconds !== undefined ? { timeout: seconds } : {}),
      });
      setMessage({ ok: true, text: `Deployed ${f.function_name} version ${f.version}.` });
      props.onDeployed(f);
    } catch (err) {
      const field = err instanceof NanoGridApiError && err.field ? ` (${err.field})` : '';
      setMessage({ ok: false, text: `${errorText(err)}${field}` });
    } finally {
      setBusy(false);
    }
  };
  const input = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);
  return html`
    <form class="card deploy" onSubmit=${submit} aria-labelledby="deploy-title">
      <h2 id="deploy-title">Deploy</h2>
      <div class=${`drop ${dragging ? 'over' : ''}`} onDragOver=${(e: DragEvent) => (e.preventDefault(), setDragging(true))}
        onDragLeave=${() => setDragging(false)} onDrop=${onDrop} data-testid="drop-zone">
        <label for="deploy-file">Code: drop a file here, or choose one (.py, .js, .cpp, .go or .zip)</label>
        <input id="deploy-file" type="file" accept=".py,.js,.mjs,.cjs,.cpp,.cc,.go,.zip"
          onChange=${(e: Event) => pick((e.target as HTMLInputElement).files?.[0])} />
        ${file && html`<p class="muted">${file.name} · ${file.size} bytes</p>`}
      </div>
      <div class="fields">
        <label>Name <input name="name" required pattern=${NAME_PATTERN} value=${name} onInput=${input(setName)} /></label>
        <label>Runtime <input name="runtime" required list="runtimes" value=${runtime} onInput=${input(setRuntime)} /></label>
        <datalist id="runtimes">${RUNTIMES.map((r) => html`<option value=${r} />`)}</datalist>
        <label>Handler <input name="handler" placeholder="main.handler" value=${handler} onInput=${input(setHandler)} /></label>
        <label>Timeout (s) <input name="timeout" inputmode="numeric" placeholder="300" value=${timeout}
          onInput=${input(setTimeoutSec)} /></label>
      </div>
      <button type="submit" disabled=${busy}>${busy ? 'Deploying…' : 'Deploy'}</button>
      ${message && html`<p class=${message.ok ? 'ok' : 'error'} role=${message.ok ? 'status' : 'alert'}>${message.text}</p>`}
    </form>`;
}
