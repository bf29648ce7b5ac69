import { useEffect, useState } from './vendor/htm-preact.js';

/** A page of the dashboard and its parameters, read from the URL's hash (`#/jobs/abc`). */
export type Route =
  | { page: 'functions' }
  | { page: 'function'; ref: string }
  | { page: 'jobs'; fn?: string; status?: string }
  | { page: 'job'; id: string }
  | { page: 'system' };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const q = new URLSearchParams(query);
  if (parts[0] === 'functions' && parts[1]) return { page: 'function', ref: parts[1] };
  if (parts[0] === 'jobs' && parts[1]) return { page: 'job', id: parts[1] };
  if (parts[0] === 'jobs') {
    const fn = q.get('function') ?? undefined;
    const status = q.get('status') ?? undefined;
    return { page: 'jobs', ...(fn ? { fn } : {}), ...(status ? { status } : {}) };
  }
  if (parts[0] === 'system') return { page: 'system' };
  return { page: 'functions' };
}

/** Link targets, so the pages never build a hash by hand. */
export const href = {
  functions: () => '#/functions',
  fn: (ref: string) => `#/functions/${encodeURIComponent(ref)}`,
  jobs: (q: { function?: string; status?: string } = {}) => {
    const s = new URLSearchParams(Object.entries(q).filter(([, v]) => v) as [string, string][]).toString();
    return `#/jobs${s ? `?${s}` : ''}`;
  },
  job: (id: string) => `#/jobs/${encodeURIComponent(id)}`,
  system: () => '#/system',
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
