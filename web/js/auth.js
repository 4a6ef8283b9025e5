// Sign-in for a deployed console: Cognito's hosted UI with the authorization-code flow and PKCE.
// Locally (no `auth` in config.json) every call goes out without a token.
const KEY = 'baton.auth';
let config;

const b64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

/** Remembers the sign-in settings from config.json: `{ domain, clientId }` (Cognito hosted UI). */
export function configureAuth(auth) {
  config = auth;
}

/** True when this console must sign in before calling the API. */
export const authRequired = () => Boolean(config?.domain && config?.clientId);

const redirectUri = () => `${location.origin}${location.pathname}`;

/** Sends the browser to the hosted sign-in page. */
export async function signIn() {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem(`${KEY}.verifier`, verifier);
  sessionStorage.setItem(`${KEY}.return`, location.hash);
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: 'openid email',
    code_challenge_method: 'S256',
    code_challenge: challenge,
  });
  location.assign(`${config.domain}/oauth2/authorize?${q}`);
}

/** Finishes a sign-in when the hosted UI sent the browser back with `?code=`. */
export async function completeSignIn() {
  const code = new URLSearchParams(location.search).get('code');
  if (!code || !authRequired()) return;
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: config.clientId,
    code,
    redirect_uri: redirectUri(),
    code_verifier: sessionStorage.getItem(`${KEY}.verifier`) ?? '',
  });
  const res = await fetch(`${config.domain}/oauth2/token`, { method: 'POST', body });
  if (res.ok) {
    const t = await res.json();
    sessionStorage.setItem(KEY, JSON.stringify({ idToken: t.id_token, expiresAt: Date.now() + t.expires_in * 1000 }));
  }
  history.replaceState(null, '', `${location.pathname}${sessionStorage.getItem(`${KEY}.return`) ?? ''}`);
  // replaceState fires no event: tell the router the address changed, or it shows the page it read before.
  dispatchEvent(new HashChangeEvent('hashchange'));
}

/** The Authorization header for the API, or none (locally, or before sign-in). */
export async function authHeader() {
  if (!authRequired()) return {};
  const t = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
  if (!t || t.expiresAt < Date.now() + 30_000) return {};
  return { authorization: `Bearer ${t.idToken}` };
}

/** True when signed in with a token still valid. */
export async function signedIn() {
  return !authRequired() || 'authorization' in (await authHeader());
}

/** Forgets the token and tells the shell (`baton:signed-out`), which shows the sign-in screen again. */
export function forgetToken() {
  sessionStorage.removeItem(KEY);
  dispatchEvent(new Event('baton:signed-out'));
}

/** Forgets the token and ends the hosted session too. */
export function signOut() {
  sessionStorage.removeItem(KEY);
  location.assign(`${config.domain}/logout?${new URLSearchParams({ client_id: config.clientId, logout_uri: redirectUri() })}`);
}
