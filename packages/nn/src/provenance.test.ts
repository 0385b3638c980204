import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  compareModelFiles,
  findRepoRoot,
  modelsProvenance,
  platformProvenance,
  readGitCommit,
} from './provenance.js';

const root = mkdtempSync(path.join(tmpdir(), 'alignda-provenance-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

/** Writes `files` (path -> text) under a fresh folder and returns it. */
function tree(name: string, files: Record<string, string>): string {
  const dir = path.join(root, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), text);
  }
  return dir;
}

describe('readGitCommit', () => {
  it('reads a branch ref, loose or packed, and a detached HEAD, without running git', () => {
    expect(
      readGitCommit(
        tree('loose', { '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/main': `${A}\n` }),
      ),
    ).toBe(A);
    expect(
      readGitCommit(
        tree('packed', {
          '.git/HEAD': 'ref: refs/heads/main\n',
          '.git/packed-refs': `# pack-refs with: peeled fully-peeled sorted\n${B} refs/heads/main\n${C} refs/tags/v1\n`,
        }),
      ),
    ).toBe(B);
    expect(readGitCommit(tree('detached', { '.git/HEAD': `${C}\n` }))).toBe(C);
  });

  it('follows a .git file to a worktree and its commondir', () => {
    tree('main-repo', { '.git/refs/heads/feature': `${A}\n` });
    tree('main-repo/.git/worktrees/wt', { HEAD: 'ref: refs/heads/feature\n', commondir: '../..\n' });
    const wt = tree('wt', { '.git': `gitdir: ${path.join(root, 'main-repo/.git/worktrees/wt')}\n` });
    expect(readGitCommit(wt)).toBe(A);
  });

  it('is null outside a git checkout or for an unresolvable HEAD', () => {
    expect(readGitCommit(tree('plain', { 'x.txt': '' }))).toBeNull();
    expect(readGitCommit(tree('dangling', { '.git/HEAD': 'ref: refs/heads/gone\n' }))).toBeNull();
  });
});

describe('findRepoRoot', () => {
  it('finds the folder holding package-lock.json at or above the start', () => {
    const repo = tree('repo', { 'package-lock.json': '{}', 'services/x/src/a.ts': '' });
    expect(findRepoRoot(path.join(repo, 'services/x/src'))).toBe(repo);
  });
});

const MANIFEST = '{"source":"qg","preset":"ci","background":"model","leadHours":48}';

describe('modelsProvenance and platformProvenance', () => {
  const models = tree('repo2/models/qg-ci-model', {
    'vae.safetensors': 'vae bytes',
    'score.safetensors': 'score bytes',
    'models.json': MANIFEST,
    'preferences-M.safetensors': 'not read by the sampler',
  });

  it('hashes the checkpoints and the manifest the sampler reads, in order, and reads the manifest', async () => {
    const p = await modelsProvenance(models);
    expect(p.version).toBe('qg-ci-model');
    expect(p.manifest).toEqual({ source: 'qg', preset: 'ci', background: 'model', leadHours: 48 });
    expect(p.files).toEqual([
      { name: 'vae.safetensors', bytes: 9, sha256: sha('vae bytes') },
      { name: 'score.safetensors', bytes: 11, sha256: sha('score bytes') },
      { name: 'models.json', bytes: MANIFEST.length, sha256: sha(MANIFEST) },
    ]);
  });

  it('records the commit, the lockfile hash, node, onnxruntime and the models', async () => {
    const repo = tree('repo2', {
      'package-lock.json': '{"lockfileVersion":3}',
      '.git/HEAD': 'ref: refs/heads/main\n',
      '.git/refs/heads/main': `${A}\n`,
    });
    const p = await platformProvenance({
      repoRoot: repo,
      modelDir: models,
      modelVersion: 'v7',
      executionProvider: 'auto',
    });
    expect(p).toMatchObject({
      gitCommit: A,
      lockfileSha256: sha('{"lockfileVersion":3}'),
      node: process.version,
      onnxruntime: { executionProviderRequested: 'auto' },
      models: { version: 'v7' },
    });
    expect(p.onnxruntime.version).toMatch(/^\d+\.\d+\.\d+/);
    const bare = await platformProvenance({ repoRoot: tree('no-repo', { 'x.txt': '' }) });
    expect(bare).toMatchObject({ gitCommit: null, lockfileSha256: null, models: null });
  });
});

describe('compareModelFiles', () => {
  const f = (name: string, sha256: string) => ({ name, sha256 });

  it('says the same when every file has the same hash, in any order', () => {
    expect(compareModelFiles([f('a', '1'), f('b', '2')], [f('b', '2'), f('a', '1')])).toEqual({
      same: true,
      differing: [],
    });
  });

  it('names the files that differ or that one side lacks; no files at all is not a match', () => {
    expect(compareModelFiles([f('a', '1'), f('b', '2')], [f('a', '9'), f('c', '3')])).toEqual({
      same: false,
      differing: ['a', 'b', 'c'],
    });
    expect(compareModelFiles([], []).same).toBe(false);
  });
});
