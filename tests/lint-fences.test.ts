import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The layering fences of eslint.config.js (docs/ARCHITECTURE.md, "Layers") fire on the fixtures in
 * tests/lint-fixtures/, a folder the normal lint ignores. The fixtures are linted through the real config, with the
 * type-checked rules switched off (they need a TypeScript program and do not fence anything), so that a block added
 * later in the config that replaces a fence shows up here. Import fixtures are linted as text at the path they
 * pretend to have, so that the config's `files` globs apply; the cycle fixtures are linted as the files they are.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = (name: string): string =>
  readFileSync(new URL(`lint-fixtures/${name}`, import.meta.url), 'utf8');

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({
    cwd: root,
    overrideConfigFile: 'eslint.config.js',
    overrideConfig: tseslint.configs.disableTypeChecked,
    ignore: false,
  });
});

interface Found {
  readonly ruleId: string | null;
  readonly message: string;
}

/** What ESLint reports on fixture `name` linted as if it were `filePath`. */
async function lintAs(filePath: string, name: string): Promise<Found[]> {
  const [result] = await eslint.lintText(fixture(name), { filePath });
  return (result?.messages ?? []).map(({ ruleId, message }) => ({ ruleId, message }));
}

/**
 * The import restrictions only: a fixture linted as a real module that others import (packages/nn/src/layers.ts)
 * may also close a cycle through what it imports, which the cycle tests below cover.
 */
async function restrictionsAs(filePath: string, name: string): Promise<Found[]> {
  return (await lintAs(filePath, name)).filter(({ ruleId }) => ruleId !== 'alignda/no-cycle');
}

const restricted = (message: RegExp): Found => ({
  ruleId: 'no-restricted-imports',
  message: expect.stringMatching(message) as string,
});
const PURE = /Pure modules import no fs/;
const PIPELINES = /Pipelines reach files, the registry, models and the database only through the ports/;
const ONNX = /Only packages\/graph\/src\/runtime imports onnxruntime-node/;
const CLI = /Nothing imports packages\/cli/;

const pureFiles = [
  'packages/tensor/src/lint-fixture.ts',
  'packages/da/src/guidance/lint-fixture.ts',
  'packages/world/src/qg/lint-fixture.ts',
  'packages/nn/src/layers.ts',
  'packages/nn/src/vae.ts',
  'packages/nn/src/emulator.ts',
  'packages/nn/src/score.ts',
  'packages/nn/src/model.ts',
  'services/gateway/src/domain/lint-fixture.ts',
];
/** Fixtures that reach files, threads, a database or a model runtime. */
const ioFixtures = [
  'reads-file.ts',
  'spawns-worker.ts',
  'queries-db.ts',
  'uses-db-package.ts',
  'loads-onnx.ts',
];
const pipelinesFile = 'packages/pipelines/src/lint-fixture.ts';
const otherFile = 'packages/world/src/render/lint-fixture.ts';

describe('pure modules', () => {
  it.each(pureFiles)(
    '%s may not read a file, start a worker, reach a database or load onnxruntime',
    async (file) => {
      for (const name of ioFixtures)
        expect(await restrictionsAs(file, name), name).toEqual([restricted(PURE)]);
    },
  );

  it.each(pureFiles)(
    '%s may not import packages/cli either (the pure fence does not replace the cli fence)',
    async (file) => {
      expect(await restrictionsAs(file, 'imports-cli.ts')).toEqual([restricted(CLI)]);
      expect(await restrictionsAs(file, 'imports-cli-relative.ts')).toEqual([restricted(CLI)]);
    },
  );

  it.each(pureFiles)('%s passes with a kernel that imports only types', async (file) => {
    expect(await lintAs(file, 'clean.ts')).toEqual([]);
  });

  it('their tests may read files', async () => {
    expect(await lintAs('packages/tensor/src/lint-fixture.test.ts', 'reads-file.ts')).toEqual([]);
  });
});

describe('packages/pipelines', () => {
  it('reaches files, the database and models only through ports', async () => {
    for (const name of ioFixtures)
      expect(await restrictionsAs(pipelinesFile, name), name).toEqual([restricted(PIPELINES)]);
  });

  it('does not import packages/cli', async () => {
    expect(await restrictionsAs(pipelinesFile, 'imports-cli.ts')).toEqual([restricted(CLI)]);
    expect(await restrictionsAs(pipelinesFile, 'imports-cli-relative.ts')).toEqual([restricted(CLI)]);
  });

  it('passes with a module that imports only types', async () => {
    expect(await lintAs(pipelinesFile, 'clean.ts')).toEqual([]);
  });
});

describe('everywhere else', () => {
  it('only packages/graph/src/runtime loads onnxruntime-node', async () => {
    expect(await restrictionsAs(otherFile, 'loads-onnx.ts')).toEqual([restricted(ONNX)]);
    expect(await restrictionsAs('packages/cli/src/lint-fixture.ts', 'loads-onnx.ts')).toEqual([
      restricted(ONNX),
    ]);
    expect(await lintAs('packages/graph/src/runtime.ts', 'loads-onnx.ts')).toEqual([]);
  });

  it('nothing outside packages/cli imports it, graph runtime included', async () => {
    for (const file of [otherFile, 'packages/graph/src/runtime.ts'])
      for (const name of ['imports-cli.ts', 'imports-cli-relative.ts'])
        expect(await restrictionsAs(file, name), `${name} as ${file}`).toEqual([restricted(CLI)]);
    expect(await restrictionsAs('tests/lint-fixture.ts', 'imports-cli-from-tests.ts')).toEqual([
      restricted(CLI),
    ]);
  });

  it('packages/cli imports itself, and I/O is allowed outside the pure modules and pipelines', async () => {
    expect(await lintAs('packages/cli/src/lint-fixture.ts', 'imports-cli-relative.ts')).toEqual([]);
    expect(await lintAs(otherFile, 'reads-file.ts')).toEqual([]);
    expect(await lintAs('packages/nn/src/train/lint-fixture.ts', 'reads-file.ts')).toEqual([]);
  });
});

describe('import cycles', () => {
  it('two modules that import each other only for types are a cycle', async () => {
    const results = await eslint.lintFiles([
      'tests/lint-fixtures/cycle/a.ts',
      'tests/lint-fixtures/cycle/b.ts',
    ]);
    expect(results).toHaveLength(2);
    for (const { messages } of results)
      expect(messages.map(({ ruleId, message }) => ({ ruleId, message }))).toEqual([
        { ruleId: 'alignda/no-cycle', message: 'Dependency cycle detected' },
      ]);
  });

  it('a one-way import is not', async () => {
    const results = await eslint.lintFiles(['tests/lint-fixtures/acyclic/']);
    expect(results).toHaveLength(2);
    for (const { messages } of results) expect(messages).toEqual([]);
  });

  it('a cycle across packages is found through the workspace links', async () => {
    expect(await lintAs('packages/tensor/src/index.ts', 'imports-graph.ts')).toEqual([
      { ruleId: 'alignda/no-cycle', message: expect.stringMatching(/^Dependency cycle via /) as string },
    ]);
  });
});
