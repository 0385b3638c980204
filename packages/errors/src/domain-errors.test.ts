import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as da from '@alignda/da';
import * as graph from '@alignda/graph';
import { GRAPH_ERROR_CODES, GraphError, SAFETENSORS_ERROR_CODES, SafetensorsError } from '@alignda/graph';
import * as nn from '@alignda/nn';
import { TRAIN_ERROR_CODES, TrainError } from '@alignda/nn';
import * as queue from '@alignda/queue';
import * as rpc from '@alignda/rpc';
import { InvalidMessageError } from '@alignda/rpc';
import * as tensor from '@alignda/tensor';
import { TENSOR_ERROR_CODES, TensorError } from '@alignda/tensor';
import * as world from '@alignda/world';
import { DATASET_ERROR_CODES, DatasetError } from '@alignda/world';
import { describe, expect, it } from 'vitest';

import { APP_ERROR_CODES, AppError, isAppError } from './app-error.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The packages whose `src` is domain or application code: everything they throw must carry a catalog code. */
const DOMAIN_PACKAGES = ['tensor', 'da', 'world', 'nn', 'graph', 'rpc', 'queue', 'pipelines'] as const;

/** Hand-written, non-test source files of the domain packages, as paths relative to the repository root. */
function domainSources(): string[] {
  return DOMAIN_PACKAGES.flatMap((pkg) => {
    const src = join(ROOT, 'packages', pkg, 'src');
    return readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.split(/[\\/]/).includes('generated'))
      .map((f) => relative(ROOT, join(src, f)).split('\\').join('/'));
  });
}

/** `file:line: text` of every line of the domain sources matching `pattern`. */
function linesMatching(pattern: RegExp): string[] {
  return domainSources().flatMap((file) =>
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .flatMap((text, i) => (pattern.test(text) ? [`${file}:${i + 1}: ${text.trim()}`] : [])),
  );
}

describe('errors thrown by domain code', () => {
  it('scans the domain packages (the glob finds their sources)', () => {
    const files = domainSources();
    for (const pkg of DOMAIN_PACKAGES) {
      expect(
        files.some((f) => f.startsWith(`packages/${pkg}/src/`)),
        pkg,
      ).toBe(true);
    }
    expect(files).toContain('packages/tensor/src/grid.ts');
    expect(files.some((f) => f.endsWith('.test.ts') || f.includes('/generated/'))).toBe(false);
  });

  it('are never plain Error, RangeError or TypeError, which carry no catalog code', () => {
    expect(linesMatching(/\bnew (Error|RangeError|TypeError)\(/)).toEqual([]);
  });

  it('come from no error class of their own outside the AppError hierarchy', () => {
    expect(linesMatching(/\bextends (Error|RangeError|TypeError)\b/)).toEqual([]);
  });
});

/** Every reason-carrying error class of the domain packages, with its closed reason table. */
const REASON_CLASSES = [
  { name: 'TensorError', reasons: TENSOR_ERROR_CODES, make: (r: string) => new TensorError(r as never, 'x') },
  {
    name: 'DatasetError',
    reasons: DATASET_ERROR_CODES,
    make: (r: string) => new DatasetError(r as never, 'x'),
  },
  { name: 'GraphError', reasons: GRAPH_ERROR_CODES, make: (r: string) => new GraphError(r as never, 'x') },
  {
    name: 'SafetensorsError',
    reasons: SAFETENSORS_ERROR_CODES,
    make: (r: string) => new SafetensorsError(r as never, 'x'),
  },
  { name: 'TrainError', reasons: TRAIN_ERROR_CODES, make: (r: string) => new TrainError(r as never, 'x') },
] as const;

describe('error classes of the domain packages', () => {
  for (const { name, reasons, make } of REASON_CLASSES) {
    it(`${name} maps every reason to a catalog code and keeps the reason`, () => {
      expect(reasons.length).toBeGreaterThan(0);
      expect(new Set(reasons).size).toBe(reasons.length);
      for (const reason of reasons) {
        const err = make(reason);
        expect(err).toBeInstanceOf(AppError);
        expect(isAppError(err), reason).toBe(true);
        expect(APP_ERROR_CODES, reason).toContain(err.code);
        expect(err.reason).toBe(reason);
        expect(err.details?.reason).toBe(reason);
        expect(err.toJSON()).toEqual({ code: err.code, message: err.message, details: err.details });
      }
    });
  }

  it('InvalidMessageError is an INVALID_ARGUMENT AppError keeping its issues', () => {
    const issues = [{ path: 'observations.values', message: 'is empty' }];
    const err = new InvalidMessageError(issues);
    expect(isAppError(err)).toBe(true);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.issues).toEqual(issues);
    expect(err.message).toBe('observations.values: is empty');
  });

  it('are all AppErrors, and each one with reasons is checked above', () => {
    const modules = { tensor, da, world, nn, graph, rpc, queue };
    const checked = new Set<string>([...REASON_CLASSES.map((c) => c.name), 'InvalidMessageError']);
    const errorClasses = Object.entries(modules).flatMap(([pkg, mod]) =>
      Object.entries(mod as Record<string, unknown>)
        .filter(
          ([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Error,
        )
        .map(([exported, v]) => ({ at: `@alignda/${pkg}.${exported}`, cls: v as typeof Error })),
    );
    expect(errorClasses.map((c) => c.at)).toContain('@alignda/nn.TrainError');
    for (const { at, cls } of errorClasses) {
      expect(cls.prototype instanceof AppError, `${at} extends AppError`).toBe(true);
      expect(checked.has(cls.name), `${at} is checked by this file`).toBe(true);
    }
  });
});
