import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import { notFound } from '../common/errors.js';

/**
 * npm packages the console imports in the browser (see the import map in `web/index.html`). Only
 * these are served from node_modules, so no other installed file is reachable over HTTP.
 */
export const CONSOLE_PACKAGES = ['preact', 'htm', '@dagrejs/dagre', 'yaml'] as const;

const rel = (url: URL) => relative(process.cwd(), fileURLToPath(url)) || '.';

/**
 * The console's files under `base` (`/console` locally; `''` at the root of their own origin, as
 * CloudFront serves them): `web/`, and its libraries at `<base>/vendor/<pkg>/` straight from
 * node_modules (no build step).
 */
export function serveConsoleFiles(front: Hono, base: string): Hono {
  const web = rel(new URL('../../web', import.meta.url));
  const modules = rel(new URL('../../node_modules', import.meta.url));
  front.use(`${base}/vendor/*`, async (c, next) => {
    const path = c.req.path.slice(`${base}/vendor/`.length);
    if (!CONSOLE_PACKAGES.some((p) => path.startsWith(`${p}/`)) || path.includes('..')) return c.json(notFound('route').toJSON(), 404);
    return serveStatic({ root: modules, rewriteRequestPath: () => `/${path}` })(c, next);
  });
  front.use(`${base}/*`, serveStatic({ root: web, rewriteRequestPath: (p) => p.slice(base.length) }));
  return front;
}

/**
 * The web console in front of the API: its files at /console/ (`serveConsoleFiles`), `/` redirecting
 * to the console, and `/favicon.ico`.
 */
export function consoleAndApi(api: Hono): Hono {
  const front = new Hono();
  front.get('/', (c) => c.redirect('/console/'));
  front.get('/console', (c) => c.redirect('/console/'));
  const icon = readFile(new URL('../../web/favicon.svg', import.meta.url));
  front.get('/favicon.ico', async (c) =>
    c.body(new Uint8Array(await icon), 200, { 'content-type': 'image/svg+xml', 'cache-control': 'max-age=86400' }),
  );
  // Locally the API is this origin and needs no sign-in; the CDK construct deploys a real config.json.
  front.get('/console/config.json', (c) => c.json({}));
  serveConsoleFiles(front, '/console');
  front.route('/', api);
  front.notFound((c) => c.json(notFound('route').toJSON(), 404));
  return front;
}
