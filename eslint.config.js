// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/** I/O libraries that pure domain code must never import (docs/STYLE.md). */
const ioModules = [
  '@grpc/*',
  'fastify',
  'bullmq',
  'ioredis',
  '@prisma/*',
  'onnxruntime-node',
  'node:fs',
  'node:fs/promises',
  'node:net',
  'node:http',
];

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/generated/**',
      'coverage/**',
      '.alignda/**',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/domain/**/*.ts', 'packages/tensor/src/**/*.ts', 'packages/da/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ioModules, message: 'Domain code is pure: no I/O imports (docs/STYLE.md).' }] },
      ],
    },
  },
  {
    // Only packages/graph's runtime may load onnxruntime-node.
    files: ['**/*.ts'],
    ignores: ['packages/graph/src/runtime/**', 'packages/graph/src/runtime.ts', '**/domain/**/*.ts', 'packages/tensor/src/**/*.ts', 'packages/da/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'onnxruntime-node', message: 'Only packages/graph/src/runtime imports onnxruntime-node.' }] },
      ],
    },
  },
  {
    files: ['packages/cli/**/*.ts', 'bench/**/*.ts', '**/main.ts', '**/scripts/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  prettier,
);
