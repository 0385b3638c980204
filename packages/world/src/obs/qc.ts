/**
 * Quality-control flag bits of an observation, identical to `alignda.v1.QcFlag`
 * (proto/alignda/v1/common.proto); flags combine with bitwise OR, 0 = passed.
 */
export const QC_FLAG = {
  /** The value is missing or not finite. */
  missing: 1,
  /** The value is outside the channel's physically plausible range. */
  outOfRange: 2,
  /** The location lies outside the grid (or in its padded, invalid area). */
  outsideGrid: 4,
  /** The error standard deviation is missing, not finite or not positive. */
  badError: 8,
  /** Another observation of the same channel at the same location and time was kept instead. */
  duplicate: 16,
  /** Background check: |O - B| exceeds the gross-error threshold. */
  grossError: 32,
} as const;

/** Name of one QC flag bit. */
export type QcFlagName = keyof typeof QC_FLAG;

/** Names of the bits set in `flags`, e.g. `['missing', 'outsideGrid']`. */
export function qcFlagNames(flags: number): QcFlagName[] {
  return (Object.keys(QC_FLAG) as QcFlagName[]).filter((k) => (flags & QC_FLAG[k]) !== 0);
}
