/**
 * The protocol card: how a comparison was made, in the words a DA reviewer checks first (METHOD.md section 7) —
 * what is observed and how, what the truth is, where backgrounds come from, whether analyses are cycled, and each
 * method's tuning budget. Every eval.json carries one and every table prints it.
 */
import type { DaSource } from '@alignda/world';

import type { ObserveOptions } from './observe.js';

/** The card, as eval.json stores it. */
export interface ProtocolCard {
  /** What is observed, where, with what noise and what R assumes. */
  readonly observations: string;
  /** What the truth is. */
  readonly truth: string;
  /** Where backgrounds come from, and their lead. */
  readonly background: string;
  /** Cycled or single analyses. */
  readonly cycled: string;
  /** Cases, sampler seeds and members. */
  readonly sample: string;
  /** Each method's tuning budget: what was tuned, on which period, how many trials. */
  readonly tuning: Readonly<Record<string, string>>;
}

/** What {@link protocolCard} is told. */
export interface ProtocolInput {
  readonly source: Pick<DaSource, 'kind' | 'name' | 'title'>;
  readonly observe: ObserveOptions;
  readonly obsErrorStd: number;
  /** The forecast model of the backgrounds, in words. */
  readonly background: string;
  readonly leadHours: number;
  readonly cases: number;
  readonly samplerSeeds: number;
  readonly members: number;
  readonly tuning: Readonly<Record<string, string>>;
  /** @defaultValue 'no: single analyses, each from a background made from the truth' */
  readonly cycled?: string;
}

const LAYOUT_WORDS = {
  columns: 'whole grid columns (every channel at each observed cell), H = selection',
  values: 'single values (any channel at any cell), H = selection',
  points: 'points off the grid (one channel each), H = bilinear interpolation',
} as const;

/** The card of one evaluation. */
export function protocolCard(p: ProtocolInput): ProtocolCard {
  const o = p.observe;
  return {
    observations:
      `${(o.fraction * 100).toFixed(2)} % ${LAYOUT_WORDS[o.layout]}; ` +
      `noise std ${o.noiseStd} (normalised${o.noiseStd === 0 ? ', noise-free' : ''}), R std ${p.obsErrorStd}; ` +
      'drawn once per case from the case seed, the same for every method and sampler seed',
    truth:
      p.source.kind === 'world'
        ? `the nature run of the synthetic world (${p.source.title})`
        : `the reanalysis ${p.source.name} itself (gridded truth; stations verify independently where available)`,
    background: `${p.leadHours} h forecasts of ${p.background} from the truth ${p.leadHours} h earlier`,
    cycled: p.cycled ?? 'no: single analyses, each from a background made from the truth',
    sample: `${p.cases} test cases; ${p.samplerSeeds} sampler seed(s) per case (averaged within a case); ${p.members} member(s) per latent analysis (their mean is scored)`,
    tuning: p.tuning,
  };
}
