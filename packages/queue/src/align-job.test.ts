import { describe, expect, it } from 'vitest';

import { ALIGN_JOB_VERSION, AlignStage, alignFlow, alignJobData, parseAlignJobData } from './align-job.js';
import { QueueName } from './queue-names.js';

describe('the alignment flow contract', () => {
  it('round-trips a payload and falls back to the run id for the correlation id', () => {
    expect(parseAlignJobData(alignJobData('run-1', 'req-1'))).toEqual({
      version: ALIGN_JOB_VERSION,
      runId: 'run-1',
      correlationId: 'req-1',
    });
    expect(parseAlignJobData({ version: ALIGN_JOB_VERSION, runId: 'run-1' }).correlationId).toBe('run-1');
  });

  it('refuses a payload without a run id, and another version naming the run', () => {
    expect(() => parseAlignJobData({ version: ALIGN_JOB_VERSION })).toThrow(/no runId/);
    expect(() => parseAlignJobData({ version: 99, runId: 'run-1' })).toThrow(
      expect.objectContaining({ code: 'FAILED_PRECONDITION', details: { runId: 'run-1' } }) as Error,
    );
  });

  it('builds evaluate-and-register <- train <- preferences, on the align, train and align queues, one id per stage', () => {
    const flow = alignFlow('run-1', 'req-1');
    const train = flow.children?.[0];
    const prefs = train?.children?.[0];
    expect([flow.name, flow.queueName]).toEqual([AlignStage.evaluate, QueueName.align]);
    expect([train?.name, train?.queueName]).toEqual([AlignStage.train, QueueName.train]);
    expect([prefs?.name, prefs?.queueName]).toEqual([AlignStage.preferences, QueueName.align]);
    expect([flow.opts?.jobId, train?.opts?.jobId, prefs?.opts?.jobId]).toEqual([
      'run-1.evaluate-and-register',
      'run-1.train',
      'run-1.preferences',
    ]);
    expect(prefs?.opts?.failParentOnFailure).toBe(true);
  });
});
