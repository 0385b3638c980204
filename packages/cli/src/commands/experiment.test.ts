import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const main = path.join(repoRoot, 'packages/cli/src/main.ts');
const home = mkdtempSync(path.join(tmpdir(), 'alignda-experiment-cli-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** Runs `alignda <args>` in a fresh node process with an empty ALIGNDA_HOME. */
function alignda(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, ALIGNDA_HOME: home };
  delete env.ALIGNDA_DEBUG;
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('alignda experiment align', () => {
  it('--dry-run prints the plan table and exits 0 without training', () => {
    const r = alignda('experiment', 'align', '--world', 'qg', '--preset', 'small', '--dry-run');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\s+stage\s+status\s+now\s+est\. min\s+estimate\s+key$/m);
    for (const stage of ['train', 'align-P', 'align-M', 'align-4', 'eval'])
      expect(r.stdout).toMatch(
        new RegExp(`^\\s+${stage}\\s+to run\\s+run\\s+\\d+\\s+guess\\s+[0-9a-f]{12}$`, 'm'),
      );
    expect(r.stdout).not.toMatch(/^\[1\/5\]/m); // no stage started
    expect(existsSync(path.join(home, 'models'))).toBe(false);
    expect(existsSync(path.join(home, 'experiments'))).toBe(false);
  });

  it('--stage refuses, in one line, a stage whose dependency is not done', () => {
    const r = alignda('experiment', 'align', '--preset', 'small', '--sets', 'M', '--stage', 'eval');
    expect(r.status).toBe(65);
    expect(r.stderr.trim()).toBe(
      'alignda: error FAILED_PRECONDITION: stage eval needs train, align-M, not done with these options; run --stage train first (or leave --stage out)',
    );
  });
});
