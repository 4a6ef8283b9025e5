import { describe, expect, it } from 'vitest';
import { scanTemplates } from '../../functions/engine/definition/template.js';
import { redact, renderWithSecrets } from '../../functions/tasks/secrets/resolve.js';
import { SecretMissingError, type SecretSource } from '../../functions/tasks/secrets/source.js';

const store: Record<string, string> = { API_KEY: 'k3y', 'db/password': 'pw' };
const asked: string[] = [];
const source: SecretSource = {
  describe: (n) => `test store ${n}`,
  get: async (n) => {
    asked.push(n);
    return store[n];
  },
};
const scope = (params: Record<string, unknown> = {}, outputs: Record<string, unknown> = {}) => ({
  params,
  tasks: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { output: v }])),
  run: { id: 'r1', workflow: 'w' },
  task: { name: 't', attempt: 1 },
});

describe('${secrets.NAME} templates', () => {
  it('parses plain and quoted names and refuses malformed ones', () => {
    const ok = scanTemplates({ a: '${secrets.API_KEY}', b: '${secrets["db/password"]}' });
    expect(ok.errors).toEqual([]);
    expect(ok.references.map((r) => [r.ref.kind, r.ref.name])).toEqual([
      ['secrets', 'API_KEY'],
      ['secrets', 'db/password'],
    ]);
    const bad = scanTemplates({ a: '${secrets}', b: '${secrets.A.B}', c: '${secrets["a b"]}' });
    expect(bad.errors.map((e) => e.at[0])).toEqual(['a', 'b', 'c']);
  });

  it('resolves in fields and in params values, and asks the source once per name', async () => {
    asked.length = 0;
    const out = await renderWithSecrets(
      { h: 'Bearer ${secrets.API_KEY}', p: '${params.cred}', q: '${secrets["db/password"]}', again: '${secrets.API_KEY}' },
      scope({ cred: { user: 'u', pass: '${secrets["db/password"]}' } }),
      source,
    );
    expect(out.config).toEqual({ h: 'Bearer k3y', p: { user: 'u', pass: 'pw' }, q: 'pw', again: 'k3y' });
    expect(asked.sort()).toEqual(['API_KEY', 'db/password']);
    expect([...out.values].sort()).toEqual(['k3y', 'pw']);
  });

  it('never resolves a reference that arrives in an upstream output (a remote answer cannot name a secret)', async () => {
    const out = await renderWithSecrets({ v: '${tasks.up.output.x}' }, scope({}, { up: { x: '${secrets.API_KEY}' } }), source);
    expect(out.config).toEqual({ v: '${secrets.API_KEY}' });
    expect(out.values).toEqual([]);
  });

  it('pass mode keeps references (sub-workflow params) and reads nothing', async () => {
    asked.length = 0;
    const out = await renderWithSecrets(
      { params: { t: '${secrets.API_KEY}', u: '${params.p}' } },
      scope({ p: '${secrets.X}' }),
      source,
      'pass',
    );
    expect(out.config).toEqual({ params: { t: '${secrets.API_KEY}', u: '${secrets.X}' } });
    expect(asked).toEqual([]);
  });

  it('an unknown secret is a SecretMissingError naming it and where it was looked up', async () => {
    await expect(renderWithSecrets({ v: '${secrets.NOPE}' }, scope(), source)).rejects.toThrow(SecretMissingError);
    await expect(renderWithSecrets({ v: '${secrets.NOPE}' }, scope(), source)).rejects.toThrow(
      'secret "NOPE" is not defined (looked up as test store NOPE)',
    );
  });

  it('redacts raw, JSON-escaped and URL-encoded forms, keys included, and ignores empty values', () => {
    const v = 'a"b c';
    expect(redact({ [v]: `x ${v} ${JSON.stringify(v)} ${encodeURIComponent(v)}`, n: 1 }, [v, ''])).toEqual({
      '***': 'x *** "***" ***',
      n: 1,
    });
  });
});
