// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { fences } from './eslint.fences.js';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/generated/**',
      'coverage/**',
      '.alignda/**',
      'eslint.config.js',
      'eslint.fences.js',
      // Inputs of tests/lint-fences.test.ts: each breaks a fence on purpose.
      'tests/lint-fixtures/**',
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
  // Layering (docs/ARCHITECTURE.md, "Layers"): import cycles, pure modules, pipelines, onnxruntime-node, packages/cli.
  ...fences,
  {
    files: ['packages/cli/**/*.ts', 'bench/**/*.ts', '**/main.ts', '**/scripts/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  prettier,
);
