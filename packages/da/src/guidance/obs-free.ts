import type { Guidance } from './guidance.js';

/**
 * ObsFree (METHOD.md section 4): no observation term; the background-conditioned prior alone, i.e. a
 * learned correction of the background. With an unconditional prior it samples the prior.
 */
export function obsFree(): Guidance {
  return { name: 'obsfree' };
}
