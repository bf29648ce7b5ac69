import { FunctionPage } from './pages/function-page.js';
import { FunctionsPage } from './pages/functions-page.js';
import { JobPage } from './pages/job-page.js';
import { JobsPage } from './pages/jobs-page.js';
import { SystemPage } from './pages/system-page.js';
import { type Route, href, useRoute } from './router.js';
import { SIGNED_OUT, signOut, storedKey } from './session.js';
import { SignIn } from './sign-in.js';
import { type VNode, html, useEffect, useState } from './vendor/htm-preact.js';

function page(route: Route) {
  switch (route.page) {
    case 'function':
      return html`<${FunctionPage} key=${route.ref} fnRef=${route.ref} />`;
    case 'jobs':
      // Keyed by its filters: new filters start a fresh list.
      return html`<${JobsPage} key=${`${route.fn ?? ''}|${route.status ?? ''}`} fn=${route.fn} status=${route.status} />`;
    case 'job':
      return html`<${JobPage} key=${route.id} id=${route.id} />`;
    case 'system':
      return html`<${SystemPage} />`;
    default:
      return html`<${FunctionsPage} />`;
  }
}

const TITLES: Record<Route['page'], string> = {
  functions: 'Functions',
  function: 'Function',
  jobs: 'Jobs',
  job: 'Job',
  system: 'System',
};

/** The page frame: navigation, sign-out, and the page the URL's hash names. */
export function App(props: { auth: boolean }): VNode {
  const route = useRoute();
  const [signedIn, setSignedIn] = useState(() => !props.auth || storedKey() !== undefined);
  useEffect(() => {
    const on = () => setSignedIn(!props.auth);
    window.addEventListener(SIGNED_OUT, on);
    return () => window.removeEventListener(SIGNED_OUT, on);
  }, [props.auth]);
  useEffect(() => {
    document.title = `${TITLES[route.page]} · NanoGrid`;
  }, [route.page]);
  if (!signedIn) return html`<${SignIn} onSignedIn=${() => setSignedIn(true)} />`;
  const current = (p: Route['page'][]) => (p.includes(route.page) ? 'page' : undefined);
  return html`
    <header class="top">
      <a class="brand" href=${href.functions()}>NanoGrid</a>
      <nav aria-label="Main">
        <a href=${href.functions()} aria-current=${current(['functions', 'function'])}>Functions</a>
        <a href=${href.jobs()} aria-current=${current(['jobs', 'job'])}>Jobs</a>
        <a href=${href.system()} aria-current=${current(['system'])}>System</a>
      </nav>
      ${props.auth && html`<button type="button" class="link" onClick=${signOut}>Sign out</button>`}
    </header>
    <main id="main">${page(route)}</main>`;
}
