// Hash routing: `#/runs/<id>`, `#/runs/<id>/tasks/<task>`, `#/workflows/<name>`, `#/backfills/<id>`,
// with an optional `?query` for list filters. Reload and Back work because the hash is the state.
import { useEffect, useState } from 'preact/hooks';

/** The current route: `{ parts: string[], query: URLSearchParams }`. */
export function parseHash(hash = location.hash) {
  const [path, q = ''] = hash.replace(/^#\/?/, '').split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

/** A link target for the given path segments and optional query object. */
export function href(parts, query) {
  const q = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== '')).toString() : '';
  return `#/${parts.map(encodeURIComponent).join('/')}${q ? `?${q}` : ''}`;
}

/** Re-renders on every hash change. */
export function useRoute() {
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
