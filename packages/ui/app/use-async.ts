import { signOut } from './session.js';
import { useCallback, useEffect, useState } from './vendor/htm-preact.js';

export interface AsyncState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Calls `load` when `deps` change (and on reload()); a refused key sends the user back to sign in. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): AsyncState<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error) => {
        if (!live) return;
        if (isUnauthorized(error)) signOut();
        setState({ error, loading: false });
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function isUnauthorized(err: unknown): boolean {
  return (err as { code?: string })?.code === 'UNAUTHORIZED';
}
