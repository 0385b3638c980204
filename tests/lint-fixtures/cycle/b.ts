// Half of a type-only cycle (with a.ts): tests/lint-fences.test.ts expects alignda/no-cycle here.
import type { A } from './a.js';

export interface B {
  readonly next?: A;
}
