import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AppError } from '@alignda/errors';
import { createLogger, jobLogger, rpcLogger } from './logger.js';

/** A destination that keeps every line, parsed. */
function memoryStream(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { stream, lines };
}

describe('createLogger', () => {
  it('binds service and filters below the level', () => {
    const { stream, lines } = memoryStream();
    const log = createLogger({ service: 'gateway', level: 'warn', destination: stream });
    log.info('hidden');
    log.warn('shown');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ service: 'gateway', msg: 'shown', level: 40 });
  });

  it('binds rpc and jobId in child loggers', () => {
    const { stream, lines } = memoryStream();
    const log = createLogger({ service: 'orchestrator', destination: stream });
    rpcLogger(log, 'alignda.v1.Sampler/Sample').info('call');
    jobLogger(log, 'job-7').info('step');
    expect(lines[0]).toMatchObject({ service: 'orchestrator', rpc: 'alignda.v1.Sampler/Sample' });
    expect(lines[1]).toMatchObject({ service: 'orchestrator', jobId: 'job-7' });
  });

  it('redacts passwords in URLs in messages, fields and errors', () => {
    const { stream, lines } = memoryStream();
    const log = createLogger({ service: 'db', destination: stream });
    log.info(
      { databaseUrl: 'postgresql://alice:s3cret@db:5432/alignda' },
      'connecting to redis://:hunter2@cache:6379',
    );
    log.error({ err: new Error('cannot reach postgres://bob:pw@h/x') }, 'failed');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain(':pw@');
    expect(lines[0]).toMatchObject({
      databaseUrl: 'postgresql://alice:***@db:5432/alignda',
      msg: 'connecting to redis://:***@cache:6379',
    });
  });

  it('censors values of secret-named keys', () => {
    const { stream, lines } = memoryStream();
    createLogger({ service: 'gateway', destination: stream }).info({
      req: { headers: { authorization: 'Bearer x' } },
    });
    expect(lines[0]).toMatchObject({ req: { headers: { authorization: '***' } } });
  });

  it('serialises an AppError with its code, details and cause', () => {
    const { stream, lines } = memoryStream();
    const err = new AppError('UNAVAILABLE', 'redis down', {
      details: { variable: 'REDIS_URL' },
      cause: new Error('ECONNREFUSED'),
    });
    createLogger({ service: 'queue', destination: stream }).error({ err }, 'probe failed');
    expect(lines[0]?.err).toMatchObject({
      type: 'AppError',
      message: 'redis down',
      code: 'UNAVAILABLE',
      details: { variable: 'REDIS_URL' },
      cause: { type: 'Error', message: 'ECONNREFUSED' },
    });
    expect((lines[0]?.err as { stack?: string }).stack).toContain('AppError');
  });
});
