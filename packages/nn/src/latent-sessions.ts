/**
 * Trained latent DA models (in memory, see model-store.ts for files) frozen into onnxruntime inference sessions for
 * an ensemble size, and bound to the ports of packages/da (packages/da/src/ports.ts): the denoiser and the DPS
 * vector-Jacobian product carry the background latent, the encoder and decoder work on standardised latents.
 */
import { AppError } from '@alignda/errors';
import { createSession, exportInference } from '@alignda/graph';
import type { Feed, ParamMap, RuntimeOptions, Session, TensorData } from '@alignda/graph';
import { mu, sigma } from '@alignda/da';
import type { DecodedTweedieVjp, Decoder, Denoiser, DpsOptions, Encoder } from '@alignda/da';

import { buildEmulatorRollout, emulatorTakesHour } from './emulator.js';
import type { LatentModels } from './model-store.js';
import { pickParams } from './model.js';
import { DPS_GRAD_OUTPUT, buildDpsHelper, buildDpsSplit, buildScoreEps } from './score.js';
import { buildVaeDecode, buildVaeEncode } from './vae.js';

/** Frozen inference sessions of one ensemble size `n`. */
export interface LatentSessions {
  readonly members: number;
  /** z_t, t [n], z_b -> eps (`buildScoreEps`). */
  readonly eps: Session;
  /** z_t, t, z_b, sigma, mu, cotangent -> eps, x0, grad/z_t (`buildDpsHelper`): forward and backward in one call. */
  readonly helper: Session;
  /** z_t, t, z_b, sigma, mu -> x0, eps and the residuals of the backward (`buildDpsSplit(...).forward`). */
  readonly dpsForward: Session;
  /** cotangent and the residuals -> grad/z_t (`buildDpsSplit(...).backward`). */
  readonly dpsBackward: Session;
  /** standardised z -> x. */
  readonly decoder: Session;
  /** x -> standardised z (posterior mean). */
  readonly encoder: Session;
  /**
   * x -> y, the emulator's `leadSteps`-step forecast; an emulator with solar forcing also takes `hour` `[members]`,
   * the UTC hour of x ({@link LatentSessions.forecastTakesHour}).
   */
  readonly forecast: Session;
  /** Whether {@link LatentSessions.forecast} takes the input `hour` (the emulator has solar forcing). */
  readonly forecastTakesHour: boolean;
}

/**
 * Builds, freezes and loads the sessions of {@link LatentSessions} for `members` samples per call. The forecast
 * session is the emulator's rollout with the emulator's own config, so one trained with solar forcing takes
 * `hour` (its callers feed the start state's UTC hour).
 */
export async function createLatentSessions(
  models: LatentModels,
  members: number,
  options: { readonly leadSteps?: number; readonly runtime?: RuntimeOptions } = {},
): Promise<LatentSessions> {
  if (!Number.isInteger(members) || members < 1)
    throw new AppError(
      'INVALID_ARGUMENT',
      `createLatentSessions: members must be an integer >= 1, got ${members}`,
    );
  const vaeCfg = { ...models.vae.config, batch: members };
  const scoreCfg = { ...models.score.config, batch: members };
  const latentNorm = models.score.norm;
  const both = { ...models.vae.params, ...models.score.params };
  const load = async (g: ReturnType<typeof buildScoreEps>, params: ParamMap): Promise<Session> =>
    createSession(exportInference(g, pickParams(g, params)), options.runtime);
  const split = buildDpsSplit(scoreCfg, vaeCfg, latentNorm);
  const forecastG = buildEmulatorRollout(
    { ...models.emulator.config, batch: members },
    options.leadSteps ?? 8,
  );
  return {
    members,
    eps: await load(buildScoreEps(scoreCfg), models.score.params),
    helper: await load(buildDpsHelper(scoreCfg, vaeCfg, latentNorm), both),
    dpsForward: await load(split.forward, both),
    dpsBackward: await load(split.backward, both),
    decoder: await load(buildVaeDecode(vaeCfg, latentNorm), models.vae.params),
    encoder: await load(buildVaeEncode(vaeCfg, latentNorm), models.vae.params),
    forecast: await load(forecastG, models.emulator.params),
    forecastTakesHour: emulatorTakesHour(models.emulator.config),
  };
}

/** The fused DPS port of packages/da (`DpsOptions.denoiseAndDecode`). */
export type DenoiseAndDecodePort = NonNullable<DpsOptions['denoiseAndDecode']>;

/** The ports of packages/da, bound to one background latent. */
export interface LatentPorts {
  readonly denoiser: Denoiser;
  readonly decoder: Decoder;
  readonly encoder: Encoder;
  /** The DPS VJP in one call of the helper (forward and backward). */
  readonly vjp: DecodedTweedieVjp;
  /**
   * eps and x0 from one call of the DPS forward, with the VJP from the DPS backward on its residuals: pass it to
   * `dps` (`denoiseAndDecode`) for one network forward per guided step.
   */
  readonly denoiseAndDecode: DenoiseAndDecodePort;
}

/** The ports' sessions' names, for timing hooks. */
export type LatentPortName = 'eps' | 'helper' | 'decoder' | 'encoder' | 'dpsForward' | 'dpsBackward';

/** Called after each session call with its port, the wall time inside `Session.run` and the adapter's own time (ms). */
export type PortTimer = (port: LatentPortName, runMs: number, adapterMs: number) => void;

/**
 * Binds the sessions to packages/da's ports. `zb` is the standardised background latent of every member,
 * `[members, ...zShape]`; `t`, sigma(t) and mu(t) are fed as `[members]` vectors of one value. Calls must carry
 * exactly `members` samples (the graphs have static shapes): run `sample` with `batchSize: members`.
 */
export function latentPorts(s: LatentSessions, zb: Float32Array, timer?: PortTimer): LatentPorts {
  const n = s.members;
  const run = async (
    port: LatentPortName,
    session: Session,
    feeds: () => Record<string, Feed>,
    fetches: readonly string[] | undefined,
    batch: number,
  ): Promise<Record<string, TensorData>> => {
    if (batch !== n)
      throw new AppError(
        'INVALID_ARGUMENT',
        `latent ports: a call with ${batch} samples; these sessions take exactly ${n}`,
      );
    const t0 = performance.now();
    const f = feeds();
    const t1 = performance.now();
    const out = await session.run(f, fetches);
    timer?.(port, performance.now() - t1, t1 - t0);
    return out;
  };
  const floats = (out: Record<string, TensorData>, name: string): Float32Array => {
    const data = out[name]?.data;
    if (!(data instanceof Float32Array))
      throw new AppError('INTERNAL', `latent ports: no float32 '${name}' output`);
    return data;
  };
  const call = async (
    port: LatentPortName,
    session: Session,
    feeds: () => Record<string, Feed>,
    fetch: string,
    batch: number,
  ): Promise<Float32Array> => floats(await run(port, session, feeds, [fetch], batch), fetch);
  const vec = (v: number): Float32Array => new Float32Array(n).fill(v);
  const dpsFeeds = (z: Float32Array, t: number): Record<string, Feed> => ({
    z_t: z,
    t: vec(t),
    z_b: zb,
    sigma: vec(sigma(t)),
    mu: vec(mu(t)),
  });
  const backwardInputs = s.dpsBackward.inputs.map((v) => v.name);
  return {
    denoiser: (z, t, shape) =>
      call('eps', s.eps, () => ({ z_t: z, t: vec(t), z_b: zb }), 'eps', shape[0] as number),
    decoder: (z, shape) => call('decoder', s.decoder, () => ({ z }), 'x', shape[0] as number),
    encoder: (x, shape) => call('encoder', s.encoder, () => ({ x }), 'z', shape[0] as number),
    vjp: (z, t, cotangent, shape) =>
      call('helper', s.helper, () => ({ ...dpsFeeds(z, t), cotangent }), DPS_GRAD_OUTPUT, shape[0] as number),
    denoiseAndDecode: async (z, t, shape) => {
      const batch = shape[0] as number;
      let feeds: Record<string, Feed> = {};
      const out = await run('dpsForward', s.dpsForward, () => (feeds = dpsFeeds(z, t)), undefined, batch);
      // The backward's inputs: the cotangent, forward inputs (by name) and the forward's residual outputs.
      const residual = (name: string): Feed => {
        const f = feeds[name] ?? out[name]?.data;
        if (f === undefined)
          throw new AppError('INTERNAL', `latent ports: DPS backward input '${name}' not produced`);
        return f;
      };
      return {
        eps: floats(out, 'eps'),
        x0: floats(out, 'x0'),
        vjp: (cotangent) =>
          call(
            'dpsBackward',
            s.dpsBackward,
            () =>
              Object.fromEntries(backwardInputs.map((k) => [k, k === 'cotangent' ? cotangent : residual(k)])),
            DPS_GRAD_OUTPUT,
            batch,
          ),
      };
    },
  };
}
