/** A location inside a JSON value: object keys and array indexes. */
export type PathSegment = string | number;

const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Formats a path the way validation errors show it: `tasks.extract.after[0]`.
 * Numbers print as indexes; keys that are not identifiers (letters, digits, `_`, `-`) are quoted: `a["x y"]`.
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENT.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Joins a formatted prefix (e.g. `tasks.x`) and more segments. */
export function joinPath(prefix: string, segments: readonly PathSegment[]): string {
  const rest = formatPath(segments);
  if (prefix === '') return rest;
  if (rest === '') return prefix;
  return rest.startsWith('[') ? prefix + rest : `${prefix}.${rest}`;
}
