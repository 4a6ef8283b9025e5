/** Converts zod issues to validation issues with definition paths such as `tasks.extract.url`. */
import type { z } from 'zod';
import { joinPath, type PathSegment } from './path.js';
import type { ValidationIssue } from './types.js';

type Issue = z.core.$ZodIssue;

function segments(path: readonly PropertyKey[]): PathSegment[] {
  return path.map((p) => (typeof p === 'number' ? p : String(p)));
}

/** A union branch whose only complaint is that the value is not its type at all. */
function wrongType(branch: readonly Issue[]): boolean {
  return branch.length === 1 && branch[0]?.code === 'invalid_type' && branch[0].path.length === 0;
}

function convert(prefix: string, base: PathSegment[], issue: Issue, out: ValidationIssue[]): void {
  const at = [...base, ...segments(issue.path)];
  if (issue.code === 'unrecognized_keys') {
    for (const key of issue.keys) out.push({ path: joinPath(prefix, [...at, key]), message: 'unknown field' });
    return;
  }
  // A union with no branch to report (a discriminated union whose discriminator matched none has no
  // branch errors) falls through to its own message below.
  if (issue.code === 'invalid_union') {
    // Report the branch the value was meant for (e.g. an object that fails an object schema); when no
    // branch stands out (a plain value that fits none), list what each branch wanted.
    const fitting = issue.errors.filter((b) => !wrongType(b));
    if (fitting.length === 1) {
      for (const inner of fitting[0] as Issue[]) convert(prefix, at, inner, out);
      return;
    }
    const wants = (fitting.length > 0 ? fitting : issue.errors).map((b) => b[0]?.message).filter((m) => m !== undefined);
    if (wants.length > 0) {
      out.push({ path: joinPath(prefix, at), message: [...new Set(wants)].join(', or ') });
      return;
    }
  }
  out.push({ path: joinPath(prefix, at), message: issue.message });
}

/** Converts zod issues found under `prefix` (a formatted path, `''` for the top). */
export function fromZodIssues(prefix: string, issues: readonly Issue[]): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of issues) convert(prefix, [], issue, out);
  return out;
}
