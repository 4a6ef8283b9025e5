import { describe, expect, it } from 'vitest';
import { createApp } from '../../functions/api/app.js';
import { openApiPath } from '../../functions/api/openapi.js';
import type { Deps } from '../../functions/orchestrator/deps.js';
import { executors } from '../../functions/tasks/registry.js';

// The document is built from the route specs alone: no table is needed.
const app = createApp({ log: { error() {}, warn() {}, info() {} }, executors } as unknown as Deps);
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document listing every route the app serves, each well-formed', async () => {
    const res = await app.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as any;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });

    const served = app.routes
      .filter((r) => METHODS.includes(r.method.toLowerCase()))
      .map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`);
    expect(served.length).toBeGreaterThan(15);
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m} ${p}`),
    );
    expect(new Set(documented)).toEqual(new Set(served));

    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(ops)) {
        expect(METHODS).toContain(method);
        expect(typeof op.summary).toBe('string');
        expect(ids.has(op.operationId), `duplicate operationId ${op.operationId}`).toBe(false);
        ids.add(op.operationId);
        // Every path template is a required path parameter with a schema, and nothing else is.
        const inPath = op.parameters.filter((p: any) => p.in === 'path');
        expect(inPath.map((p: any) => p.name).sort(), `${method} ${path}`).toEqual([...templated].sort());
        for (const p of op.parameters) {
          expect(['path', 'query', 'header']).toContain(p.in);
          expect(p.schema).toBeTypeOf('object');
          if (p.in === 'path') expect(p.required).toBe(true);
        }
        expect(Object.keys(op.responses).length).toBeGreaterThan(1);
        for (const [status, r] of Object.entries(op.responses as Record<string, any>)) {
          expect(status === 'default' || /^[1-5]\d\d$/.test(status)).toBe(true);
          expect(typeof r.description).toBe('string');
        }
        if (op.requestBody) expect(Object.keys(op.requestBody.content).length).toBeGreaterThan(0);
        // Every $ref resolves.
        for (const ref of JSON.stringify(op).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
          expect(doc.components.schemas[ref[1] as string]).toBeDefined();
        }
      }
    }
  });

  it('describes request bodies from the same schemas the routes validate with', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as any;
    const start = doc.paths['/workflows/{name}/runs'].post;
    expect(start.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      properties: { params: expect.any(Object), version: { type: 'integer', minimum: 1 } },
      additionalProperties: false,
    });
    expect(start.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }));
    const schedule = doc.paths['/workflows/{name}/schedules/{id}'].put.requestBody.content['application/json'].schema;
    expect(JSON.stringify(schedule)).toContain('misfirePolicy');
    const name = doc.paths['/workflows/{name}'].put.parameters.find((p: any) => p.name === 'name');
    expect(name.schema.pattern).toBe('^[A-Za-z][A-Za-z0-9_-]{0,63}$');
  });
});
