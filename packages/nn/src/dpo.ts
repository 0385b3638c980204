/**
 * Diffusion-DPO of the latent score network (METHOD.md section 6; Wallace et al. 2024, eq. 14 with the
 * per-sample losses averaged over the latent, as their reference code does).
 *
 * A batch holds P preference pairs of one or several conditions, laid out as `2P` samples: winners in rows
 * `0..P-1`, their losers in rows `P..2P-1`, pair k's two rows sharing the condition `z_b`, the time `t` and the
 * noise `eps` (the caller noises both members with the same `t` and `eps`). With e(x) the per-sample denoising error
 * mean((eps_theta(z_t, t, z_b) - eps)^2) of the trainable copy and r(x) that of the frozen reference (fed as the
 * input `ref_err`, computed by the caller with the reference's eps graph), the loss is
 *
 *   L = mean_k softplus(-m_k),   m_k = -(beta / 2) ((e_w - e_l) - (r_w - r_l)),
 *
 * i.e. -log sigmoid(m_k). m_k is the implicit reward margin: positive when the trainable copy denoises the winner
 * better (relative to the reference) than the loser. At initialisation (trainable = reference) every m_k = 0 and
 * L = log 2.
 */
import { AppError } from '@alignda/errors';
import { GraphBuilder } from '@alignda/graph';
import type { Graph } from '@alignda/graph';

import type { Ctx } from './layers.js';
import { trainingGraph } from './model.js';
import type { TrainingGraph } from './model.js';
import { scoreNet } from './score.js';
import type { ScoreConfig } from './score.js';

/** Output names of the DPO graph besides `loss`. */
export const DPO_OUTPUTS = Object.freeze({
  /** `[P]` implicit reward margins m_k. */
  margin: 'margin',
  /** `[2P]` per-sample denoising errors of the trainable copy. */
  error: 'model_err',
});

/**
 * The DPO forward graph for `pairs` pairs per batch (the score config's own `batch` is ignored; the graph's batch
 * is `2 * pairs`). Inputs `z_t`, `t`, `z_b`, `eps` (`[2P, ...]`), `ref_err` `[2P]` and `beta` `[1]`; outputs
 * `loss` (scalar), `margin` `[P]` and `model_err` `[2P]`. Parameters `score.*`, the reference's names, so the
 * trainable copy starts from (and is saved as) a score-network checkpoint.
 */
export function buildScoreDpoForward(cfg: ScoreConfig, pairs: number): Graph {
  if (!Number.isInteger(pairs) || pairs < 1)
    throw new AppError('INVALID_ARGUMENT', `dpo: pairs per batch must be a positive integer, got ${pairs}`);
  const n = 2 * pairs;
  const b = new GraphBuilder({ name: 'score_dpo', seed: cfg.seed });
  const c: Ctx = { b, seed: cfg.seed };
  const shape = [n, ...cfg.latentShape];
  const zt = b.input('z_t', 'float32', shape);
  const t = b.input('t', 'float32', [n]);
  const zb = b.input('z_b', 'float32', shape);
  const eps = b.input('eps', 'float32', shape);
  const refErr = b.input('ref_err', 'float32', [n]);
  const beta = b.input('beta', 'float32', [1]);
  const epsHat = scoreNet(c, cfg, zt, t, zb);
  const d = b.sub(epsHat, eps);
  const err = b.reduceMean(b.mul(d, d), [1, 2, 3]); // [2P]
  const rel = b.sub(err, refErr); // [2P]: e - r
  const relW = b.slice(rel, [0], [pairs], [0]); // [P]: winners
  const relL = b.slice(rel, [pairs], [n], [0]); // [P]: their losers
  const margin = b.mul(b.sub(relW, relL), b.mul(beta, -0.5)); // [P]
  b.output(b.reduceMean(b.softplus(b.neg(margin))), 'loss');
  b.output(margin, DPO_OUTPUTS.margin);
  b.output(err, DPO_OUTPUTS.error);
  return b.build();
}

/** {@link buildScoreDpoForward} plus `grad/<param>` for every `score.*` parameter. */
export function buildScoreDpoTraining(cfg: ScoreConfig, pairs: number): TrainingGraph {
  return trainingGraph(buildScoreDpoForward(cfg, pairs));
}
