// Reads a file: forbidden in pure modules and in packages/pipelines.
import { readFileSync } from 'node:fs';

export const load = (path: string): string => readFileSync(path, 'utf8');
