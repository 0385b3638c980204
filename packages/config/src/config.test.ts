import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '@alignda/errors';
import { CONFIG_VARIABLES, formatStartupError, loadConfig } from './config.js';

const cwd = '/srv/alignda';

/** The AppError thrown by loadConfig for `env`, or a failure if none is thrown. */
function configError(env: Record<string, string>): AppError {
  try {
    loadConfig(env, { cwd });
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('gives a working default for every knob from an empty environment', () => {
    expect(loadConfig({}, { cwd })).toEqual({
      logLevel: 'info',
      homeDir: '/srv/alignda/.alignda',
      databaseUrl: 'file:/srv/alignda/.alignda/alignda.db',
      databaseProvider: 'sqlite',
      redisUrl: 'redis://127.0.0.1:6379',
      dataDir: '/srv/shared/data',
      executionProvider: 'auto',
      intraOpThreads: 1,
      httpPort: 8080,
      startupProbeTimeoutMs: 5000,
      resultTtlHours: 168,
    });
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig({}, { cwd }))).toBe(true);
  });

  it('reads every variable and resolves relative paths from cwd', () => {
    const config = loadConfig(
      {
        LOG_LEVEL: 'debug',
        ALIGNDA_HOME: 'state',
        DATABASE_URL: 'postgresql://root@127.0.0.1:5432/alignda',
        REDIS_URL: 'rediss://:pw@cache:6380/1',
        ALIGNDA_DATA_DIR: '/data',
        ALIGNDA_EXECUTION_PROVIDER: 'cuda',
        ALIGNDA_INTRA_OP_THREADS: '4',
        HTTP_PORT: ' 9090 ',
        ALIGNDA_STARTUP_PROBE_TIMEOUT_MS: '250',
        ALIGNDA_RESULT_TTL_HOURS: '0.5',
      },
      { cwd },
    );
    expect(config).toEqual({
      logLevel: 'debug',
      homeDir: '/srv/alignda/state',
      databaseUrl: 'postgresql://root@127.0.0.1:5432/alignda',
      databaseProvider: 'postgresql',
      redisUrl: 'rediss://:pw@cache:6380/1',
      dataDir: '/data',
      executionProvider: 'cuda',
      intraOpThreads: 4,
      httpPort: 9090,
      startupProbeTimeoutMs: 250,
      resultTtlHours: 0.5,
    });
  });

  it('puts the default SQLite file under ALIGNDA_HOME', () => {
    expect(loadConfig({ ALIGNDA_HOME: '/var/lib/alignda' }, { cwd }).databaseUrl).toBe(
      'file:/var/lib/alignda/alignda.db',
    );
  });

  it('makes a relative file: DATABASE_URL absolute and accepts the postgres: scheme', () => {
    expect(loadConfig({ DATABASE_URL: 'file:./dev.db' }, { cwd }).databaseUrl).toBe(
      `file:${path.join(cwd, 'dev.db')}`,
    );
    expect(loadConfig({ DATABASE_URL: 'postgres://h/db' }, { cwd }).databaseProvider).toBe('postgresql');
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ HTTP_PORT: '', LOG_LEVEL: '  ' }, { cwd })).toMatchObject({
      httpPort: 8080,
      logLevel: 'info',
    });
  });

  it('rejects a malformed number naming the variable, the value and what was expected', () => {
    const err = configError({ HTTP_PORT: '8o80' });
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toBe(
      'invalid configuration: HTTP_PORT="8o80": expected an integer port from 0 to 65535',
    );
  });

  it.each([['70000'], ['-1'], ['80.5'], ['1e3']])('rejects HTTP_PORT=%s', (value) => {
    expect(configError({ HTTP_PORT: value }).message).toContain(`HTTP_PORT="${value}"`);
  });

  it.each([['0'], ['-1'], ['1e3'], ['.5'], ['87601'], ['a week']])(
    'rejects ALIGNDA_RESULT_TTL_HOURS=%s',
    (value) => {
      expect(configError({ ALIGNDA_RESULT_TTL_HOURS: value }).message).toBe(
        `invalid configuration: ALIGNDA_RESULT_TTL_HOURS="${value}": expected a positive number of hours up to 87600 (ten years), e.g. 168 or 0.5`,
      );
    },
  );

  it('rejects an unknown enum value listing the allowed ones', () => {
    expect(configError({ ALIGNDA_EXECUTION_PROVIDER: 'tpu' }).message).toBe(
      'invalid configuration: ALIGNDA_EXECUTION_PROVIDER="tpu": expected one of cpu, cuda, auto',
    );
    expect(configError({ LOG_LEVEL: 'verbose' }).message).toContain(
      'LOG_LEVEL="verbose": expected one of fatal,',
    );
  });

  it('rejects an unknown DATABASE_URL scheme without printing its password', () => {
    const err = configError({ DATABASE_URL: 'mysql://root:hunter2@db/alignda' });
    expect(err.message).toBe(
      'invalid configuration: DATABASE_URL="mysql://root:***@db/alignda": expected a URL with scheme file: (SQLite), postgres: or postgresql: (PostgreSQL)',
    );
    expect(JSON.stringify(err.details)).not.toContain('hunter2');
  });

  it('rejects a REDIS_URL that is not a redis URL', () => {
    expect(configError({ REDIS_URL: 'http://127.0.0.1:6379' }).message).toContain(
      'REDIS_URL="http://127.0.0.1:6379"',
    );
  });

  it('reports every bad variable on one line', () => {
    const err = configError({ HTTP_PORT: 'x', ALIGNDA_INTRA_OP_THREADS: '0' });
    expect(err.message).not.toContain('\n');
    expect(err.message).toContain('ALIGNDA_INTRA_OP_THREADS="0": expected an integer from 1 to 1024');
    expect(err.message).toContain('HTTP_PORT="x"');
    expect(err.details).toMatchObject({
      problems: [{ variable: 'ALIGNDA_INTRA_OP_THREADS' }, { variable: 'HTTP_PORT' }],
    });
  });

  it('documents every Config key', () => {
    expect(CONFIG_VARIABLES.map((v) => v.key).sort()).toEqual(
      Object.keys(loadConfig({}, { cwd }))
        .filter((k) => k !== 'databaseProvider')
        .sort(),
    );
  });
});

describe('formatStartupError', () => {
  it('prints an AppError as one line with its code and no stack', () => {
    const line = formatStartupError(configError({ HTTP_PORT: '8o80' }));
    expect(line).toBe(
      'error CONFIG_INVALID: invalid configuration: HTTP_PORT="8o80": expected an integer port from 0 to 65535',
    );
  });

  it('folds multi-line messages, redacts URLs and reports other errors as INTERNAL', () => {
    expect(formatStartupError(new Error('cannot open\n  postgres://u:pw@h/db'))).toBe(
      'error INTERNAL: cannot open postgres://u:***@h/db',
    );
    expect(formatStartupError('boom')).toBe('error INTERNAL: boom');
  });
});
