// Imports bottom.ts, which imports nothing back: no cycle.
import type { Bottom } from './bottom.js';
import { bottom } from './bottom.js';

export const top: Bottom = bottom;
