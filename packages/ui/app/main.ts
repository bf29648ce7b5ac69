import { App } from './app.js';
import { html, render } from './vendor/htm-preact.js';

// The page asks whether keys are configured (no key needed for that) before it shows anything.
const root = document.getElementById('app');
if (!root) throw new Error('the page has no #app element');
const config = (await (await fetch('/ui/config.json')).json()) as { auth: boolean };
render(html`<${App} auth=${config.auth} />`, root);
