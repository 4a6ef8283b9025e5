import { describe, expect, it } from 'vitest';
import { type ParamSpec, resolveParams } from '../../functions/engine/definition/index.js';

const spec: Record<string, ParamSpec> = {
  day: { type: 'string', required: true },
  limit: { type: 'integer', required: false, default: 10 },
  ratio: { type: 'number', required: false },
  dry: { type: 'boolean', required: false, default: false },
  filter: { type: 'object', required: false, default: { a: [1] } },
  ids: { type: 'array', required: false },
};

describe('resolveParams', () => {
  it('applies defaults and keeps given values', () => {
    expect(resolveParams(spec, { day: '2024-01-01', ratio: 0.5 })).toEqual({
      ok: true,
      value: { day: '2024-01-01', limit: 10, ratio: 0.5, dry: false, filter: { a: [1] } },
    });
    expect(resolveParams(spec, { day: 'd', limit: 3, ids: [1], dry: true })).toEqual({
      ok: true,
      value: { day: 'd', limit: 3, dry: true, filter: { a: [1] }, ids: [1] },
    });
  });

  it('copies defaults', () => {
    const r = resolveParams(spec, { day: 'd' });
    if (!r.ok) throw new Error('expected ok');
    (r.value.filter as { a: number[] }).a.push(2);
    expect(spec.filter?.default).toEqual({ a: [1] });
  });

  it('reports missing, wrong types and unknown params together', () => {
    const r = resolveParams(spec, { limit: '5', ratio: Number.NaN, dry: 'no', filter: [], ids: {}, extra: 1 });
    expect(r).toEqual({
      ok: false,
      errors: [
        { path: 'params.day', message: 'required' },
        { path: 'params.limit', message: 'expected integer, got string' },
        { path: 'params.ratio', message: 'expected number, got NaN' },
        { path: 'params.dry', message: 'expected boolean, got string' },
        { path: 'params.filter', message: 'expected object, got array' },
        { path: 'params.ids', message: 'expected array, got object' },
        { path: 'params.extra', message: 'unknown param' },
      ],
    });
    expect(resolveParams(spec, { day: 'd', limit: 1.5 })).toEqual({
      ok: false,
      errors: [{ path: 'params.limit', message: 'expected integer, got number' }],
    });
  });

  it('treats null/undefined as no params and rejects non-objects', () => {
    expect(resolveParams({}, undefined)).toEqual({ ok: true, value: {} });
    expect(resolveParams({ limit: spec.limit as ParamSpec }, null)).toEqual({ ok: true, value: { limit: 10 } });
    expect(resolveParams(spec, 'x')).toEqual({ ok: false, errors: [{ path: 'params', message: 'expected an object, got string' }] });
    expect(resolveParams(spec, [1])).toEqual({ ok: false, errors: [{ path: 'params', message: 'expected an object, got array' }] });
  });

  it('does not let __proto__ change the prototype', () => {
    const r = resolveParams({ __proto__x: { type: 'string', required: false } }, JSON.parse('{"__proto__": {"polluted": 1}}'));
    expect(r.ok).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
