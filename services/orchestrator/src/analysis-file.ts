/**
 * The analysis of a job as CF netCDF, laid out as `alignda assimilate` writes it (packages/cli's assimilate-run.ts):
 * the member mean, with more than one member their spread and the members, and the background, one variable per
 * channel and set; the method, members, steps, seed, background and O-B / O-A as global attributes.
 */
import type { JobDiagnostics } from '@alignda/pipelines';
import type { Grid } from '@alignda/tensor';
import { fieldsNetcdf, writeNetcdfClassic } from '@alignda/world';
import type { FieldSet } from '@alignda/world';

/** What one analysis file holds. Fields in physical units, [C, H, W] flattened. */
export interface AnalysisFileInput {
  readonly grid: Grid;
  readonly channels: readonly string[];
  readonly units: readonly string[];
  /** ISO 8601 UTC. */
  readonly validTime: string;
  readonly method: string;
  readonly members: number;
  readonly steps: number;
  readonly seed: number;
  readonly mean: Float32Array;
  /** Per-value member std (more than one member). */
  readonly spread?: Float32Array;
  /** [M, C, H, W] (written with more than one member). */
  readonly memberFields?: Float32Array;
  readonly background: Float32Array;
  /** `physical model 48 h forecast from <time>` or `emulator ...`. */
  readonly backgroundNote: string;
  readonly diagnostics: JobDiagnostics;
  /** 1 where a cell holds data, [H, W]. @defaultValue every cell */
  readonly validMask?: Uint8Array;
}

/** The bytes of the netCDF classic file. */
export function analysisNetcdf(a: AnalysisFileInput): Uint8Array {
  const M = a.members;
  const sets: FieldSet[] = [
    { suffix: '', description: `${a.method} analysis (member mean) of`, data: a.mean },
    ...(a.spread === undefined
      ? []
      : [
          {
            suffix: '_spread',
            description: 'member standard deviation of',
            data: a.spread,
            isQuantity: false,
          },
        ]),
    ...(a.memberFields === undefined || M < 2
      ? []
      : [
          {
            suffix: '_members',
            description: `${a.method} analysis member of`,
            data: a.memberFields,
            members: M,
          },
        ]),
    { suffix: '_background', description: '48 h background forecast of', data: a.background },
  ];
  const d = a.diagnostics;
  return writeNetcdfClassic(
    fieldsNetcdf({
      grid: a.grid,
      channels: a.channels,
      units: a.units,
      time: a.validTime,
      sets,
      ...(a.validMask === undefined ? {} : { validMask: a.validMask }),
      attributes: {
        title: `alignda ${a.method} analysis`,
        source: 'alignda orchestrator',
        method: a.method,
        members: { type: 'int', values: [M] },
        steps: { type: 'int', values: [a.steps] },
        seed: a.seed,
        background: a.backgroundNote,
        observations: { type: 'int', values: [d.count] },
        omb_rms_normalised: d.omb.rms,
        oma_rms_normalised: d.oma.rms,
      },
    }),
  );
}
