import { describe, expect, it } from 'vitest';

import { LEAD_STEPS } from '../evaluate-tuning.js';
import { jobStateIndex } from './background.js';

/** A source of `count` states `stepHours` apart from 2000-01-01T00. */
function source(stepHours: number, count = 40) {
  return {
    name: 'mine',
    count,
    stepHours,
    timeOf: (i: number) =>
      new Date(Date.UTC(2000, 0, 1) + i * stepHours * 3_600_000).toISOString().slice(0, 13),
  };
}

describe('jobStateIndex on sources of other steps than 6 h', () => {
  it('starts the background of a daily source LEAD_STEPS days earlier', () => {
    expect(jobStateIndex(source(24), '2000-01-21T00:00Z')).toEqual({
      index: 20,
      startIndex: 20 - LEAD_STEPS,
    });
  });

  it('starts the background of an hourly source LEAD_STEPS hours earlier', () => {
    expect(jobStateIndex(source(1), '2000-01-01T20:00Z')).toEqual({ index: 20, startIndex: 20 - LEAD_STEPS });
  });

  it('names the lead in hours of the source when the start state is missing', () => {
    expect(() => jobStateIndex(source(24), '2000-01-03T00:00Z')).toThrow(
      'the background at 2000-01-03T00:00Z is the 192 h forecast from the state 192 h earlier, which mine does not hold: its states are 2000-01-01T00 .. 2000-02-09T00 (every 24 h)',
    );
  });
});
