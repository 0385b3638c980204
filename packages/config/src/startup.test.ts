import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../scripts/print-config.ts');

/** Runs print-config.ts in a child process with `env` added, as a main.ts would start. */
function start(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', script], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('a process started with bad configuration', () => {
  it('stops with exit status 1 and one line naming the variable, without a stack trace', () => {
    const { status, stdout, stderr } = start({ HTTP_PORT: '8o80', DATABASE_URL: 'mysql://u:secret@h/db' });
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'error CONFIG_INVALID: invalid configuration: DATABASE_URL="mysql://u:***@h/db": expected a URL with scheme file: (SQLite), postgres: or postgresql: (PostgreSQL); HTTP_PORT="8o80": expected an integer port from 0 to 65535\n',
    );
  });
});
