import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { serveConsoleFiles } from '../../functions/local/console.js';
import type { Console } from './setup.js';

/** A Hono app on a loopback port. */
async function listen(app: Hono): Promise<{ url: string; close(): void }> {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((res) => server.once('listening', res));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

const CLIENT_ID = 'console-client';
const b64url = (b: Buffer) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/**
 * The console as deployed: its files at the root of their own origin with a `config.json` naming the
 * API and the sign-in (what the CDK construct uploads), an API on another origin that accepts only a
 * bearer token (the JWT authorizer's part) with CORS for the console's origin, and a stand-in for
 * Cognito's hosted UI: its `/oauth2/authorize`, `/oauth2/token` and `/logout` endpoints (no local
 * Cognito exists), which check the shape of what the console sends: the code flow with PKCE.
 */
export function signInSuite(c: Console) {
  const servers: { url: string; close(): void }[] = [];
  let cdn = '';
  let idp = '';
  let api = '';
  let token = 'token-1';
  const authorizations: (string | undefined)[] = [];
  const authorize: Record<string, string>[] = [];
  const exchanges: { form: Record<string, string>; ok: boolean }[] = [];
  const logouts: Record<string, string>[] = [];

  beforeAll(async () => {
    const allowed = { origin: (o: string) => (o === cdn ? o : null) };
    const apiApp = new Hono();
    apiApp.use('*', cors({ ...allowed, allowHeaders: ['authorization', 'content-type', 'idempotency-key'] }));
    apiApp.use('*', async (ctx, next) => {
      const auth = ctx.req.header('authorization');
      authorizations.push(auth);
      if (auth !== `Bearer ${token}`) return ctx.json({ message: 'Unauthorized' }, 401);
      await next();
    });
    apiApp.all('*', (ctx) => c.h.app.fetch(ctx.req.raw));

    const idpApp = new Hono();
    const challenges = new Map<string, string>();
    idpApp.get('/oauth2/authorize', (ctx) => {
      const q = ctx.req.query();
      authorize.push(q);
      const code = `code-${authorize.length}`;
      challenges.set(code, q.code_challenge ?? '');
      return ctx.redirect(`${q.redirect_uri}?code=${code}`);
    });
    idpApp.use('/oauth2/token', cors(allowed));
    idpApp.post('/oauth2/token', async (ctx) => {
      const form = Object.fromEntries(new URLSearchParams(await ctx.req.text())) as Record<string, string>;
      const verifier = form.code_verifier ?? '';
      const ok =
        form.grant_type === 'authorization_code' &&
        form.client_id === CLIENT_ID &&
        form.redirect_uri === `${cdn}/` &&
        challenges.get(form.code ?? '') === b64url(createHash('sha256').update(verifier).digest());
      exchanges.push({ form, ok });
      if (!ok) return ctx.json({ error: 'invalid_grant' }, 400);
      return ctx.json({ id_token: token, access_token: 'not-used', expires_in: 3600, token_type: 'Bearer' });
    });
    idpApp.get('/logout', (ctx) => {
      logouts.push(ctx.req.query());
      return ctx.redirect(ctx.req.query('logout_uri') ?? '/');
    });

    const cdnApp = new Hono();
    cdnApp.get('/config.json', (ctx) => ctx.json({ apiUrl: `${api}/`, auth: { domain: idp, clientId: CLIENT_ID } }));
    // The same files `npm start` serves under /console/, here at the root as CloudFront serves them.
    serveConsoleFiles(cdnApp, '');
    for (const [app, set] of [
      [apiApp, (u: string) => (api = u)],
      [idpApp, (u: string) => (idp = u)],
      [cdnApp, (u: string) => (cdn = u)],
    ] as const) {
      const s = await listen(app);
      servers.push(s);
      set(s.url);
    }
  });
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it('signs in on the hosted page with the code flow and PKCE, calls the API with the ID token, asks again when it is refused', async () => {
    const { page } = c;
    await page.goto(`${cdn}/#/workflows/leaf`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    // Nothing is asked of the API before sign-in.
    expect(authorizations).toEqual([]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Back from the hosted page, on the page the person started from, without the code in the address.
    await page.waitForURL(`${cdn}/#/workflows/leaf`);
    await page.getByRole('heading', { name: /^leaf/ }).waitFor();
    await page.locator('[data-run-row]').first().waitFor();
    expect(authorize).toEqual([
      expect.objectContaining({
        response_type: 'code',
        client_id: CLIENT_ID,
        redirect_uri: `${cdn}/`,
        scope: 'openid email',
        code_challenge_method: 'S256',
      }),
    ]);
    expect(exchanges.map((e) => e.ok)).toEqual([true]);
    expect(authorizations.length).toBeGreaterThan(0);
    expect(new Set(authorizations)).toEqual(new Set(['Bearer token-1']));

    // The API stops accepting the token (expired, user removed): the next refresh brings the sign-in back.
    token = 'token-2';
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    // The browser logs the refused call; that, and only that, is expected.
    const refused = c.errors.splice(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const e of refused) expect(e).toMatch(/status of 401/);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-run-row]').first().waitFor();
    expect(exchanges.map((e) => e.ok)).toEqual([true, true]);
    expect(authorizations.at(-1)).toBe('Bearer token-2');

    // Sign out ends the hosted session too, and comes back to the sign-in screen.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(logouts).toEqual([{ client_id: CLIENT_ID, logout_uri: `${cdn}/` }]);
  });
}
