// The console's shell: header, sign-in when deployed with one, and the hash router.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { loadConfig } from './api.js';
import { authRequired, completeSignIn, configureAuth, signedIn, signIn, signOut } from './auth.js';
import { useRoute } from './router.js';
import { RunPage } from './run-page.js';
import { BackfillPage } from './schedules.js';
import { html } from './ui.js';
import { WorkflowPage, WorkflowsPage } from './workflows.js';

function Page({ route }) {
  const [a, b, c, d] = route.parts;
  if (a === 'runs' && b) return html`<${RunPage} key=${b} runId=${b} taskName=${c === 'tasks' ? d : undefined} />`;
  if (a === 'workflows' && b) return html`<${WorkflowPage} key=${b} name=${b} query=${route.query} />`;
  if (a === 'backfills' && b) return html`<${BackfillPage} key=${b} id=${b} />`;
  if (a) return html`<p class="error">No page at this address. <a href="#/">Workflows</a></p>`;
  return html`<${WorkflowsPage} />`;
}

function skipToMain(e) {
  e.preventDefault();
  document.getElementById('main')?.focus();
}

function App() {
  const route = useRoute();
  const [ready, setReady] = useState(false);
  const [inside, setInside] = useState(false);
  useEffect(() => {
    (async () => {
      const config = await loadConfig();
      configureAuth(config.auth);
      await completeSignIn();
      setInside(await signedIn());
      setReady(true);
    })();
  }, []);
  useEffect(() => {
    const out = () => setInside(false);
    addEventListener('baton:signed-out', out);
    return () => removeEventListener('baton:signed-out', out);
  }, []);
  useEffect(() => {
    // Move focus to the page heading after navigation, for keyboard and screen-reader users.
    document.querySelector('main h2')?.focus?.();
  }, [route]);
  return html`
    <a class="skip" href="#main" onClick=${skipToMain}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/">Baton</a>
      <nav aria-label="Main"><a href="#/">Workflows</a></nav>
      ${authRequired() && inside ? html`<button type="button" class="link" onClick=${signOut}>Sign out</button>` : null}
    </header>
    <main id="main" tabindex="-1">
      ${!ready ? html`<p class="muted">Loading…</p>` : inside ? html`<${Page} route=${route} />` : html`<section><h2>Sign in</h2><p>This console calls a protected API.</p><button type="button" onClick=${signIn}>Sign in</button></section>`}
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
