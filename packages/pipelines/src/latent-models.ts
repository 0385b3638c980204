/**
 * Trained latent models held as in-memory sessions, and the calls every use case makes of them: the standardised
 * background latent, the emulator's 48 h forecast, and the {@link LatentPrior} of one background (the ports of
 * packages/da bound to its latent).
 */
import { AppError } from '@alignda/errors';
import { latentPorts } from '@alignda/nn';
import type { LatentSessions } from '@alignda/nn';

import type { LatentPrior } from './assimilate.js';

/**
 * The prior of one background for `s.members` members: the background latent `zb1` (standardised, one member)
 * replicated over the members and bound to the sessions' ports.
 */
export function latentPrior(s: LatentSessions, zb1: Float32Array, zShape: readonly number[]): LatentPrior {
  const members = s.members;
  const zb = new Float32Array(members * zb1.length);
  for (let m = 0; m < members; m++) zb.set(zb1, m * zb1.length);
  const ports = latentPorts(s, zb);
  return { zShape, fixedBatch: members, ...ports };
}

/** The standardised latent E(x_b) of one normalised state, with the sessions (member 0's output). */
export function encodeState(s: LatentSessions, x: Float32Array): Promise<Float32Array> {
  return runOne(s, 'encoder', x);
}

/** The decoded state D(z) (normalised) of one standardised latent, with the sessions (member 0's output). */
export function decodeState(s: LatentSessions, z: Float32Array): Promise<Float32Array> {
  return runOne(s, 'decoder', z);
}

/**
 * The emulator's forecast (the sessions' lead) from one normalised state. `hour` is the UTC hour of `x`, fed to an
 * emulator with solar forcing.
 * @throws AppError `INVALID_ARGUMENT` when the emulator needs an hour and none is given
 */
export function forecastState(s: LatentSessions, x: Float32Array, hour?: number): Promise<Float32Array> {
  return runOne(s, 'forecast', x, hour);
}

/** Runs one frozen session on one sample (replicated over the session's members) and returns member 0's output. */
async function runOne(
  s: LatentSessions,
  which: 'forecast' | 'encoder' | 'decoder',
  x: Float32Array,
  hour?: number,
): Promise<Float32Array> {
  const n = s.members;
  const feed = new Float32Array(n * x.length);
  for (let i = 0; i < n; i++) feed.set(x, i * x.length);
  const input = which === 'decoder' ? 'z' : 'x';
  const name = which === 'forecast' ? 'y' : which === 'encoder' ? 'z' : 'x';
  const clocked = which === 'forecast' && s.forecastTakesHour;
  if (clocked && (hour === undefined || !Number.isFinite(hour)))
    throw new AppError(
      'INVALID_ARGUMENT',
      `the emulator has solar forcing and needs the start state's UTC hour, got ${hour}; the source gives no hourOf`,
    );
  const feeds: Record<string, Float32Array> = { [input]: feed };
  if (clocked) feeds.hour = new Float32Array(n).fill(hour as number);
  const out = await s[which].run(feeds, [name]);
  const data = out[name]?.data;
  if (!(data instanceof Float32Array))
    throw new AppError('INTERNAL', `no float32 '${name}' output from the ${which}`);
  return data.slice(0, data.length / n);
}
