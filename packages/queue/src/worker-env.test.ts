import { describe, expect, it } from 'vitest';

import { readWorkerEnv } from './worker-env.js';

describe('readWorkerEnv', () => {
  it("reads a service's three variables, leaving unset and empty ones to the service's defaults", () => {
    expect(
      readWorkerEnv(
        { ALIGNDA_CYCLER_CONCURRENCY: '2', ALIGNDA_CYCLER_LOCK_MS: ' 5000 ', ALIGNDA_CYCLER_ATTEMPTS: '' },
        'CYCLER',
      ),
    ).toEqual({ concurrency: 2, lockDurationMs: 5000 });
    expect(readWorkerEnv({ ALIGNDA_TRAINER_ATTEMPTS: '3', ALIGNDA_CYCLER_ATTEMPTS: '9' }, 'TRAINER')).toEqual(
      { attempts: 3 },
    );
  });

  it('names every bad variable in one CONFIG_INVALID', () => {
    expect(() =>
      readWorkerEnv(
        { ALIGNDA_CYCLER_CONCURRENCY: '0', ALIGNDA_CYCLER_LOCK_MS: '100', ALIGNDA_CYCLER_ATTEMPTS: '2.5' },
        'CYCLER',
      ),
    ).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/CONCURRENCY="0".*ATTEMPTS="2\.5".*LOCK_MS="100"/) as unknown,
      }),
    );
  });
});
