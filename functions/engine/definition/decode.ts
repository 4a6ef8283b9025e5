/** Turns definition text (JSON or YAML) into a plain value. */
import YAML from 'yaml';
import { MAX_TEXT_NESTING, textNesting } from '../limits.js';
import type { Result } from './types.js';

/**
 * Decodes definition text. YAML when `contentType` mentions yaml; otherwise JSON, falling back to YAML
 * when the text is not JSON (unless `contentType` says JSON). Any other `body` is returned as it is.
 * YAML duplicate keys, multiple documents and alias bombs are errors.
 */
export function decodeDefinition(body: unknown, contentType?: string): Result<unknown> {
  if (typeof body !== 'string') return { ok: true, value: body };
  const type = contentType?.toLowerCase() ?? '';
  if (!type.includes('yaml')) {
    try {
      return { ok: true, value: JSON.parse(body) as unknown };
    } catch (e) {
      if (type.includes('json')) return { ok: false, errors: [{ path: '', message: `invalid JSON: ${(e as Error).message}` }] };
    }
  }
  if (textNesting(body) > MAX_TEXT_NESTING) {
    return { ok: false, errors: [{ path: '', message: `invalid YAML: brackets nested more than ${MAX_TEXT_NESTING} deep` }] };
  }
  try {
    // Inside the try: a hostile document (thousands of nested flow brackets) may exhaust the stack.
    const doc = YAML.parseDocument(body, { uniqueKeys: true, prettyErrors: true });
    if (doc.errors.length > 0) {
      return { ok: false, errors: doc.errors.slice(0, 5).map((e) => ({ path: '', message: `invalid YAML: ${e.message}` })) };
    }
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) as unknown };
  } catch (e) {
    return { ok: false, errors: [{ path: '', message: `invalid YAML: ${(e as Error).message}` }] };
  }
}
