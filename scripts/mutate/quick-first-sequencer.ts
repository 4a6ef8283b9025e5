import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Test-file order of the engine mutation run: a file that failed last time first, then the quickest
 * first (vitest's default runs the longest first). Stryker stops a mutant's run at its first failing
 * file, and most mutants are killed by quick example tests, so without this every mutant first paid
 * for the slowest file (the whole-year daylight-saving invariants). Order only: a surviving mutant
 * still runs every test that covers it, so the score is the same.
 */
export class QuickFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache;
    const key = (f: TestSpecification) => `${f.project.name}:${relative(this.ctx.config.root, f.moduleId)}`;
    const state = (f: TestSpecification) => cache.getFileTestResults(key(f));
    return [...files].sort((a, b) => {
      const sa = state(a);
      const sb = state(b);
      if (sa?.failed !== sb?.failed) return sa?.failed ? -1 : 1;
      return (sa?.duration ?? Number.POSITIVE_INFINITY) - (sb?.duration ?? Number.POSITIVE_INFINITY);
    });
  }
}
