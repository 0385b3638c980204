import type { Field, Grid } from '@alignda/tensor';
import { InvalidMessageError, type MessageIssue } from './invalid-message-error.js';
import { nonFiniteIssue } from './tensor-codec.js';

/** The channels, units and grid that a service's fields must have (its model's, its dataset's). */
export interface FieldLayout {
  /** Channel names, length C, in tensor order. */
  readonly channels: readonly string[];
  /** Channel units (UDUNITS), length C. */
  readonly units: readonly string[];
  /** The H x W grid. */
  readonly grid: Grid;
}

/** Coordinates travel as doubles and come back exact; this only forgives a client that recomputed them. */
const DEGREE_TOLERANCE = 1e-6;
const RELATIVE_TOLERANCE = 1e-9;

function sameAxis(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++)
    if (!(Math.abs((a[i] as number) - (b[i] as number)) <= DEGREE_TOLERANCE)) return false;
  return true;
}

function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= RELATIVE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
}

function list(values: readonly string[]): string {
  return `[${values.join(', ')}]`;
}

/**
 * Issues of a grid against the expected one: kind, latitudes, longitudes, periodicity and (beta-plane) spacing and
 * Coriolis parameters.
 */
export function gridIssues(grid: Grid, expected: Grid, path = 'grid'): MessageIssue[] {
  const issues: MessageIssue[] = [];
  if (grid.kind !== expected.kind)
    issues.push({ path: `${path}.kind`, message: `is ${grid.kind}, expected ${expected.kind}` });
  if (!sameAxis(grid.latDeg, expected.latDeg))
    issues.push({
      path: `${path}.lat_deg`,
      message: `${grid.latDeg.length} latitudes differ from the expected ${expected.latDeg.length}`,
    });
  if (!sameAxis(grid.lonDeg, expected.lonDeg))
    issues.push({
      path: `${path}.lon_deg`,
      message: `${grid.lonDeg.length} longitudes differ from the expected ${expected.lonDeg.length}`,
    });
  if (grid.periodicLon !== expected.periodicLon)
    issues.push({
      path: `${path}.periodic_lon`,
      message: `is ${grid.periodicLon}, expected ${expected.periodicLon}`,
    });
  if (grid.kind === 'beta-plane' && expected.kind === 'beta-plane') {
    const same =
      close(grid.dxM, expected.dxM) &&
      close(grid.dyM, expected.dyM) &&
      close(grid.f0PerS, expected.f0PerS) &&
      close(grid.betaPerMS, expected.betaPerMS);
    if (!same)
      issues.push({
        path: `${path}.beta_plane`,
        message: `spacing or Coriolis parameters differ from the expected dx_m=${expected.dxM}, dy_m=${expected.dyM}, f0_per_s=${expected.f0PerS}, beta_per_m_s=${expected.betaPerMS}`,
      });
  }
  return issues;
}

/**
 * Checks a received field against the layout a service works with, and that its values are finite.
 * @param path - name of the field in error messages, e.g. `fields[2]`
 * @throws InvalidMessageError naming every channel, unit and grid mismatch and NaN or infinite values
 */
export function assertFieldLayout(field: Field, layout: FieldLayout, path = 'field'): void {
  const issues: MessageIssue[] = [];
  if (field.channels.join('\u0000') !== layout.channels.join('\u0000'))
    issues.push({
      path: `${path}.channels`,
      message: `are ${list(field.channels)}, expected ${list(layout.channels)}`,
    });
  if (field.units.join('\u0000') !== layout.units.join('\u0000'))
    issues.push({
      path: `${path}.units`,
      message: `are ${list(field.units)}, expected ${list(layout.units)}`,
    });
  issues.push(...gridIssues(field.grid, layout.grid, `${path}.grid`));
  // The platform's states are finite (datasets refuse NaN, NON_FINITE_VALUES): a NaN would run through the models.
  const nonFinite = nonFiniteIssue(field.data, `${path}.tensor.data`);
  if (nonFinite !== undefined) issues.push(nonFinite);
  if (issues.length > 0) throw new InvalidMessageError(issues);
}
