// Half of a type-only cycle (with b.ts): tests/lint-fences.test.ts expects alignda/no-cycle here.
import type { B } from './b.js';

export interface A {
  readonly next?: B;
}
