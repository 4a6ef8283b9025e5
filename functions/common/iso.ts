/** An epoch-ms time as ISO-8601 for API answers and logs; `undefined` stays `undefined`. */
export function iso(ms: number): string;
export function iso(ms: number | undefined): string | undefined;
export function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}
