/**
 * Adapter from the frozen @alignda/nn sessions to the ports of @alignda/da (packages/da/src/ports.ts), with
 * per-port timing for the sampler benchmark. Lives in bench/ for now; the sampler service will want the same
 * wiring (without the timers), at which point it belongs next to the sessions (e.g. packages/nn/src/ports.ts).
 */
import { DPS_GRAD_OUTPUT } from '@alignda/nn';
import { mu, sigma } from '@alignda/da';
import type { DecodedTweedieVjp, Decoder, Denoiser, Encoder } from '@alignda/da';
import type { Session } from '@alignda/graph';

/** Wall time and calls of one port: `runMs` inside `Session.run`, `adapterMs` the rest (feeds, unpacking). */
export interface PortTiming {
  calls: number;
  runMs: number;
  adapterMs: number;
  /** Per-call `Session.run` wall times (ms), for per-call medians. */
  readonly perCall: number[];
}

/** Timings of every port, reset before each timed analysis. */
export interface PortTimings {
  readonly eps: PortTiming;
  readonly helper: PortTiming;
  readonly decoder: PortTiming;
  readonly encoder: PortTiming;
}

/** A fresh, zeroed {@link PortTimings}. */
export function newTimings(): PortTimings {
  const one = (): PortTiming => ({ calls: 0, runMs: 0, adapterMs: 0, perCall: [] });
  return { eps: one(), helper: one(), decoder: one(), encoder: one() };
}

/** The four sessions of a DPS analysis, exported for batch `n` and frozen. */
export interface DpsSessions {
  /** `buildScoreEps`: z_t, t [n], z_b -> eps. */
  readonly eps: Session;
  /** `buildDpsHelper`: z_t, t, z_b, sigma, mu, cotangent -> eps, x0, grad/z_t. */
  readonly helper: Session;
  /** `buildVaeDecode`: z -> x. */
  readonly decoder: Session;
  /** `buildVaeEncode`: x -> z (posterior mean). */
  readonly encoder: Session;
}

/** The da ports bound to one background latent. */
export interface DpsPorts {
  readonly denoiser: Denoiser;
  readonly decoder: Decoder;
  readonly vjp: DecodedTweedieVjp;
  readonly encoder: Encoder;
}

/**
 * Binds the sessions to packages/da's ports. The denoiser and the VJP carry the background latent `zb`
 * (shape [n, ...zShape]); `t`, `sigma(t)` and `mu(t)` are fed as `[n]` vectors of the same value.
 * @param timings - where each call adds its wall time (read with {@link newTimings})
 */
export function dpsPorts(s: DpsSessions, zb: Float32Array, timings: () => PortTimings): DpsPorts {
  const timed = async (
    pick: (t: PortTimings) => PortTiming,
    feeds: () => Parameters<Session['run']>[0],
    session: Session,
    fetch: string,
  ): Promise<Float32Array> => {
    const t0 = performance.now();
    const f = feeds();
    const t1 = performance.now();
    const out = await session.run(f, [fetch]);
    const t2 = performance.now();
    const data = out[fetch]?.data;
    if (!(data instanceof Float32Array)) throw new Error(`sampler bench: no float32 '${fetch}' output`);
    const p = pick(timings());
    p.calls++;
    p.runMs += t2 - t1;
    p.perCall.push(t2 - t1);
    p.adapterMs += performance.now() - t2 + (t1 - t0);
    return data;
  };
  const vec = (n: number, v: number): Float32Array => new Float32Array(n).fill(v);
  return {
    denoiser: (z, t, shape) =>
      timed(
        (x) => x.eps,
        () => ({ z_t: z, t: vec(shape[0] as number, t), z_b: zb }),
        s.eps,
        'eps',
      ),
    decoder: (z) =>
      timed(
        (x) => x.decoder,
        () => ({ z }),
        s.decoder,
        'x',
      ),
    encoder: (x) =>
      timed(
        (t) => t.encoder,
        () => ({ x }),
        s.encoder,
        'z',
      ),
    vjp: (z, t, cotangent, shape) => {
      const n = shape[0] as number;
      return timed(
        (x) => x.helper,
        () => ({
          z_t: z,
          t: vec(n, t),
          z_b: zb,
          sigma: vec(n, sigma(t)),
          mu: vec(n, mu(t)),
          cotangent,
        }),
        s.helper,
        DPS_GRAD_OUTPUT,
      );
    },
  };
}
