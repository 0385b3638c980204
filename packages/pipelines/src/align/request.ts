/**
 * The request of one alignment run over the platform (issue 14, item 3): which reference model version, which
 * preference set, how many candidates and conditions of the alignment period, and the DPO and gate settings. The
 * gateway validates `POST /v1/alignments` bodies with it and the trainer reads the stored settings with it, so the
 * flow runs what was accepted. The period is the alignment period only: preference data, held-out pairs and the
 * promotion gate never come from the train or test period (METHOD.md section 7).
 */
import { PREFERENCE_SET_NAMES } from '@alignda/da';
import { AppError } from '@alignda/errors';
import type { DpoConfig } from '@alignda/nn';
import { z } from 'zod';

import { LATENT_MODES } from '../assimilate.js';
import { BACKGROUND_KINDS } from '../evaluate-latent-options.js';
import type { AlignOptions } from './align.js';
import type { GateOptions } from './gate.js';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** The request schema; the defaults are `alignda align`'s and packages/nn's DPO defaults. */
export const alignmentRequestSchema = z.strictObject({
  /** The reference: a ModelVersion id (kind score) whose model folder holds the trained VAE, emulator and prior. */
  model: z.uuid(),
  /** Preference set: P (physics), M (multi-reward), 4 (M plus the hydrostatic reward). */
  set: z.enum(PREFERENCE_SET_NAMES),
  /** The period the conditions and the gate's cases come from: the alignment period, and only it. */
  period: z
    .string()
    .default('alignment')
    .refine((p) => p === 'alignment', {
      message:
        'must be "alignment": preference data and the promotion gate never come from the train or test period',
    }),
  /** DPO's KL strength beta (> 0). */
  beta: z.number().positive().max(1e9).default(2000),
  /** Pairs per DPO step. */
  pairs: int(1, 256).default(8),
  /** Candidates N per condition. */
  candidates: int(2, 256).default(32),
  /** Alignment-period conditions (a quarter held out). */
  conditions: int(2, 1000).default(24),
  /** Sampler steps of the candidates and of the gate. */
  steps: int(1, 1000).default(64),
  /** DPO optimiser steps. */
  dpoSteps: int(1, 100_000).default(300),
  /** DPO peak learning rate. */
  lr: z.number().positive().max(1).default(1e-5),
  /** Seed of the candidates and the pairing. */
  seed: int(0, 2 ** 31 - 1).default(11),
  /** DPO steps between checkpoints: a killed trainer resumes from the last. */
  checkpointEvery: int(1, 100_000).default(50),
  /** The gate: held-out alignment-period cases and the latent modes judged. */
  gate: z
    .strictObject({
      cases: int(2, 256).default(8),
      modes: z.array(z.enum(LATENT_MODES)).min(1).max(LATENT_MODES.length).default(['obsfree', 'dps']),
    })
    .default({ cases: 8, modes: ['obsfree', 'dps'] }),
  /**
   * The backgrounds of the conditions; default: the ones the reference prior was trained on (its version's
   * `background`). Another kind is refused unless `force`.
   */
  background: z.enum(BACKGROUND_KINDS).optional(),
  /** Use the reference with backgrounds of another kind than it was trained on. */
  force: z.boolean().default(false),
});

/** A validated alignment request, defaults filled in. */
export type AlignmentRequest = z.infer<typeof alignmentRequestSchema>;

/**
 * Validates an alignment request.
 * @throws AppError INVALID_ARGUMENT naming the first bad field
 */
export function parseAlignmentRequest(body: unknown): AlignmentRequest {
  const parsed = alignmentRequestSchema.safeParse(body);
  if (!parsed.success) {
    const iss = parsed.error.issues[0];
    const where = iss === undefined || iss.path.length === 0 ? 'the request' : iss.path.join('.');
    throw new AppError('INVALID_ARGUMENT', `alignment: ${where}: ${iss?.message ?? 'is invalid'}`);
  }
  return parsed.data;
}

/**
 * The background kind a run uses: the request's, else the reference's; another kind than the reference was trained
 * on only with `force`.
 * @throws AppError FAILED_PRECONDITION for a mismatch without `force`
 */
export function alignmentBackground(
  r: Pick<AlignmentRequest, 'background' | 'force'>,
  modelBackground: string,
): (typeof BACKGROUND_KINDS)[number] {
  const trained = (BACKGROUND_KINDS as readonly string[]).includes(modelBackground)
    ? (modelBackground as (typeof BACKGROUND_KINDS)[number])
    : 'emulator';
  const want = r.background ?? trained;
  if (want !== trained && !r.force)
    throw new AppError(
      'FAILED_PRECONDITION',
      `the model's prior was trained on ${trained} backgrounds, not ${want}: a prior says nothing fair about another background's errors (set "force": true to use it anyway)`,
    );
  return want;
}

/** The options of the pipeline's halves for a request. */
export function alignOptionsOf(
  r: AlignmentRequest,
  background: (typeof BACKGROUND_KINDS)[number],
): AlignOptions & { readonly dpo: Partial<DpoConfig> } {
  return {
    set: r.set,
    background,
    candidates: r.candidates,
    conditions: r.conditions,
    steps: r.steps,
    seed: r.seed,
    checkpointEverySteps: r.checkpointEvery,
    dpo: { beta: r.beta, pairsPerStep: r.pairs, steps: r.dpoSteps, peakLr: r.lr },
  };
}

/** The gate's options for a request (its cases exclude the conditions DPO trained on). */
export function gateOptionsOf(
  r: AlignmentRequest,
  background: (typeof BACKGROUND_KINDS)[number],
  exclude: readonly number[],
): GateOptions {
  return { background, exclude, cases: r.gate.cases, modes: r.gate.modes, steps: r.steps, seed: r.seed };
}
