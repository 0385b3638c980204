/**
 * A PostgreSQL server of the chaos run's own: `initdb` into a throw-away folder (trust auth, no fsync), `pg_ctl start`
 * on a free loopback port, restarted and stopped with `pg_ctl`. The run restarts it in the middle of a cycle without
 * touching the machine's server (which other programs may be using). PostgreSQL refuses to run as root, so a root run
 * runs it as the `postgres` user (runuser); a run that can do neither gets the reason, and the scenario is skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { freePort } from '@alignda/queue';

/** A running server of the run's own. */
export interface LocalPostgres {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  /** Stops it (fast shutdown) and starts it again on the same port and data. */
  restart(): void;
  /** Stops it and removes its folder. */
  stop(): void;
}

/** The folder of the PostgreSQL server binaries (initdb, pg_ctl), or undefined. */
function binDir(): string | undefined {
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const candidates = [
    ...(fromConfig.status === 0 ? [fromConfig.stdout.trim()] : []),
    ...(existsSync('/usr/lib/postgresql')
      ? readdirSync('/usr/lib/postgresql')
          .sort()
          .reverse()
          .map((v) => `/usr/lib/postgresql/${v}/bin`)
      : []),
  ];
  return candidates.find((d) => existsSync(path.join(d, 'initdb')) && existsSync(path.join(d, 'pg_ctl')));
}

/** The uid and gid of `postgres` when this run is root (PostgreSQL will not run as root), else undefined. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error('this run is root and there is no postgres user');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Starts a server of the run's own.
 * @throws Error saying why it cannot (no server binaries, root without a postgres user, initdb or start failing)
 */
export async function startLocalPostgres(): Promise<LocalPostgres> {
  const bin = binDir();
  if (bin === undefined)
    throw new Error(
      'no PostgreSQL server binaries (initdb, pg_ctl): install postgresql (apt-get install postgresql)',
    );
  const user = postgresUser();
  const dir = mkdtempSync(path.join(tmpdir(), 'alignda-chaos-pg-'));
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const run = (tool: string, args: readonly string[]): void => {
    const command = path.join(bin, tool);
    const [file, argv] =
      user === undefined ? [command, args] : ['runuser', ['-u', 'postgres', '--', command, ...args]];
    execFileSync(file, argv, { stdio: 'pipe', timeout: 120_000 });
  };
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    run('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'server.log'), '-w', 'start']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`PostgreSQL of the run's own did not start: ${stderr || String(err)}`);
  }
  const stop = (): void => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // stopped already
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    restart: () =>
      run('pg_ctl', [
        '-D',
        data,
        '-o',
        options,
        '-l',
        path.join(dir, 'server.log'),
        '-m',
        'fast',
        '-w',
        'restart',
      ]),
    stop,
  };
}
