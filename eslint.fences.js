// @ts-check
/**
 * Fences that keep the layering of docs/ARCHITECTURE.md ("Layers") in `npm run lint`:
 *
 * - no import cycles, type-only imports included ({@link noCycle});
 * - pure modules (tensor, da, world/qg, world/l96, the nn model definitions, any `domain/` folder) import no fs, net,
 *   child_process, worker_threads or database code;
 * - packages/pipelines reaches files, the registry, models and the database only through the ports it declares;
 * - only packages/graph's runtime loads onnxruntime-node;
 * - nothing outside packages/cli imports packages/cli.
 *
 * In flat config a later `no-restricted-imports` for a file replaces the earlier one, so every block below carries
 * the whole set of restrictions for its files ({@link restrict}); tests/lint-fences.test.ts checks that each fence
 * still fires through the real eslint.config.js.
 */
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * @typedef {{ name: string, message: string }} RestrictedPath
 * @typedef {{ group?: string[], regex?: string, message: string }} RestrictedPattern
 * @typedef {{ paths: RestrictedPath[], patterns: RestrictedPattern[] }} Fence
 */

/**
 * A fence that forbids the given module names (exact: `node:fs` does not cover `node:fs/promises`) and globs.
 * @param {string} message
 * @param {string[]} names
 * @param {string[]} [globs] - gitignore-style patterns such as `@prisma/*`
 * @returns {Fence}
 */
const forbid = (message, names, globs = []) => ({
  paths: names.map((name) => ({ name, message })),
  patterns: globs.length > 0 ? [{ group: globs, message }] : [],
});

/** Node built-ins that touch files, sockets, processes or threads. */
const NODE_IO = [
  'fs',
  'fs/promises',
  'node:fs',
  'node:fs/promises',
  'net',
  'node:net',
  'http',
  'node:http',
  'https',
  'node:https',
  'child_process',
  'node:child_process',
  'worker_threads',
  'node:worker_threads',
];

/** Database, queue, RPC, HTTP-server and model-runtime libraries. */
const SERVICE_IO = [
  '@alignda/db',
  'pg',
  'better-sqlite3',
  'ioredis',
  'bullmq',
  'fastify',
  'onnxruntime-node',
];
const SERVICE_IO_GLOBS = ['@alignda/db/*', '@prisma/*', '@grpc/*'];

/** Pure modules: a kernel, a model definition or domain logic gets its data as arguments or through a port. */
const PURE = forbid(
  'Pure modules import no fs, net, child_process, worker_threads or database code (docs/ARCHITECTURE.md, "Layers"): take the data as an argument or declare a port.',
  [...NODE_IO, ...SERVICE_IO],
  SERVICE_IO_GLOBS,
);

/** packages/pipelines: the use cases declare ports (files, registry, models, database) and the doors fill them. */
const PIPELINES = forbid(
  'Pipelines reach files, the registry, models and the database only through the ports they declare (docs/ARCHITECTURE.md, "Layers"): put the I/O in an adapter.',
  [...NODE_IO, ...SERVICE_IO],
  SERVICE_IO_GLOBS,
);

/** Everything but graph's runtime and the pure modules (whose fence already names it). */
const ONNX = forbid('Only packages/graph/src/runtime imports onnxruntime-node.', ['onnxruntime-node']);

/** packages/cli is a door at the top of the layering: nothing imports it, not even by a relative path. */
const CLI_MESSAGE =
  'Nothing imports packages/cli (docs/ARCHITECTURE.md, "Layers"): move the shared code into packages/pipelines or below.';
/** @type {Fence} */
const CLI = {
  paths: [{ name: '@alignda/cli', message: CLI_MESSAGE }],
  patterns: [
    { group: ['@alignda/cli/*'], message: CLI_MESSAGE },
    // `../../cli/src/x.js` from a sibling package, `../packages/cli/src/x.js` from tests/ or bench/
    { regex: String.raw`^\.{1,2}/(?:.*/)?(?:packages/cli|cli/src)(?:/|$)`, message: CLI_MESSAGE },
  ],
};

/**
 * One `no-restricted-imports` entry that enforces all the given fences at once.
 * @param {...Fence} fences
 * @returns {import('eslint').Linter.RuleEntry}
 */
function restrict(...fences) {
  return ['error', { paths: fences.flatMap((f) => f.paths), patterns: fences.flatMap((f) => f.patterns) }];
}

const SOURCES = ['**/*.{ts,mts,cts,js,mjs,cjs}'];
const TESTS = ['**/*.test.ts'];
const CLI_FILES = ['packages/cli/**/*.{ts,mts,cts,js,mjs,cjs}'];
const GRAPH_RUNTIME = ['packages/graph/src/runtime/**', 'packages/graph/src/runtime.ts'];
/** Pure modules (docs/ARCHITECTURE.md, "Layers"). */
const PURE_FILES = [
  'packages/tensor/src/**/*.ts',
  'packages/da/src/**/*.ts',
  'packages/world/src/qg/**/*.ts',
  'packages/world/src/l96/**/*.ts',
  'packages/nn/src/{layers,vae,emulator,score,model}.ts',
  '**/domain/**/*.ts',
];
const PIPELINES_FILES = ['packages/pipelines/src/**/*.ts'];

/**
 * The dependency parser of {@link noCycle}: typescript-eslint's, with every import and re-export marked as a value
 * edge, so that import-x's traversal follows `import type` too.
 * @type {import('eslint').Linter.Parser}
 */
const valueEdgesParser = {
  meta: { name: 'alignda/value-edges-parser' },
  parseForESLint(code, options) {
    // typescript-eslint declares its parser loosely (`parseForESLint(text)`); it takes the options all the same.
    const result = /** @type {any} */ (tseslint.parser).parseForESLint(code, options);
    for (const node of result.ast.body) markValueEdge(node);
    return result;
  },
};

/**
 * Clears the `type` marker of an import or re-export in place.
 * @param {any} node
 */
function markValueEdge(node) {
  if (node.type === 'ImportDeclaration') {
    node.importKind = 'value';
    for (const s of node.specifiers) if (s.type === 'ImportSpecifier') s.importKind = 'value';
  } else if (
    node.type === 'ExportAllDeclaration' ||
    (node.type === 'ExportNamedDeclaration' && node.source)
  ) {
    node.exportKind = 'value';
    for (const s of node.specifiers ?? []) s.exportKind = 'value';
  }
}

/**
 * A copy of an import or re-export node of the linted file with the `type` marker cleared.
 * @param {any} node
 */
function asValueEdge(node) {
  const copy = { ...node };
  markValueEdge(
    Object.assign(copy, { specifiers: node.specifiers?.map((/** @type {any} */ s) => ({ ...s })) }),
  );
  return copy;
}

const importXNoCycle = /** @type {import('eslint').Rule.RuleModule} */ (
  /** @type {unknown} */ (importX.rules['no-cycle'])
);

/**
 * `import-x/no-cycle`, type-only imports included. import-x skips `import type` edges by design ("they have no
 * runtime effect", and it has no option to count them), but the layering counts them: a type that two modules need
 * belongs below both. This rule runs import-x's rule unchanged, with its options, resolver and cache, on a view of
 * the code in which every import is a value import: the linted file's import nodes are handed over with the marker
 * cleared, and the files it reaches are parsed by {@link valueEdgesParser}.
 * @type {import('eslint').Rule.RuleModule}
 */
const noCycle = {
  meta: {
    ...importXNoCycle.meta,
    docs: { description: 'import-x/no-cycle, counting type-only imports too.' },
  },
  create(context) {
    const view = Object.create(context, {
      languageOptions: { value: { ...context.languageOptions, parser: valueEdgesParser } },
    });
    const visitors = importXNoCycle.create(view);
    return Object.fromEntries(
      Object.entries(visitors).map(([selector, visit]) => [
        selector,
        /^(Import|Export(All|Named))Declaration$/.test(selector)
          ? (/** @type {any} */ node) => /** @type {Function} */ (visit)(asValueEdge(node))
          : visit,
      ]),
    );
  },
};

/**
 * The fence blocks of eslint.config.js, after the shared rules.
 * @type {import('eslint').Linter.Config[]}
 */
export const fences = [
  {
    files: SOURCES,
    // Nothing imports a test file, so none is on a cycle: skipping them saves the walk from each of their imports.
    ignores: TESTS,
    plugins: { alignda: { rules: { 'no-cycle': noCycle } } },
    settings: {
      // As import-x's `flatConfigs.typescript`, less its `import-x/parsers` (which would replace valueEdgesParser).
      'import-x/extensions': ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'],
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
      // Workspace packages are ours: without this, import-x counts any file outside the linted file's package as
      // external, and `ignoreExternal` would stop the walk at the first `@alignda/*` import.
      'import-x/internal-regex': '^@alignda/',
    },
    rules: {
      // Workspace packages resolve through the node_modules/@alignda links to packages/*/src (the resolver follows
      // links), so cycles across packages are found too; third-party packages cannot import ours and are not walked.
      'alignda/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  { files: SOURCES, ignores: ['packages/cli/**'], rules: { 'no-restricted-imports': restrict(CLI, ONNX) } },
  { files: CLI_FILES, rules: { 'no-restricted-imports': restrict(ONNX) } },
  { files: GRAPH_RUNTIME, rules: { 'no-restricted-imports': restrict(CLI) } },
  { files: PURE_FILES, ignores: TESTS, rules: { 'no-restricted-imports': restrict(CLI, PURE) } },
  { files: PIPELINES_FILES, ignores: TESTS, rules: { 'no-restricted-imports': restrict(CLI, PIPELINES) } },
];
