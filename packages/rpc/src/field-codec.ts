import type { Field, Grid } from '@alignda/tensor';
import type { Field as FieldMessage, Grid as GridMessage } from './generated/alignda/v1/common.js';
import { InvalidMessageError, invalidMessage, type MessageIssue } from './invalid-message-error.js';
import { float32FromTensor, formatShape, tensorFromFloat32 } from './tensor-codec.js';

/** A field received over the wire with the time it is valid at. */
export interface ReceivedField {
  /** The field, float32, [C, H, W]. */
  readonly field: Field;
  /** Field.valid_time, or undefined when the sender left it unset. */
  readonly validTime: Date | undefined;
}

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

function isMonotone(values: ArrayLike<number>): boolean {
  let up = true;
  let down = true;
  for (let i = 1; i < values.length; i++) {
    const d = (values[i] as number) - (values[i - 1] as number);
    if (!(d > 0)) up = false;
    if (!(d < 0)) down = false;
  }
  return up || down;
}

/** Converts an @alignda/tensor grid to its message. */
export function gridToProto(grid: Grid): GridMessage {
  const common = {
    latDeg: Array.from(grid.latDeg),
    lonDeg: Array.from(grid.lonDeg),
    periodicLon: grid.periodicLon,
  };
  if (grid.kind === 'latlon') return { ...common, kind: { $case: 'latLon', value: {} } };
  return {
    ...common,
    kind: {
      $case: 'betaPlane',
      value: { dxM: grid.dxM, dyM: grid.dyM, f0PerS: grid.f0PerS, betaPerMS: grid.betaPerMS },
    },
  };
}

/**
 * Converts a Grid message to an @alignda/tensor grid, checking it.
 * @param path - name of the grid in error messages. @defaultValue 'grid'
 * @throws InvalidMessageError when the grid is missing, has no kind, no rows or columns, non-finite or
 *   non-monotone latitudes, latitudes outside [-90, 90], or (beta-plane) non-positive spacing or
 *   periodic_lon false
 */
export function gridFromProto(grid: GridMessage | undefined, path = 'grid'): Grid {
  if (grid === undefined) return invalidMessage(path, 'is required');
  const issues: MessageIssue[] = [];
  const latDeg = Float64Array.from(grid.latDeg);
  const lonDeg = Float64Array.from(grid.lonDeg);
  if (latDeg.length === 0) issues.push({ path: `${path}.lat_deg`, message: 'is empty' });
  else if (!allFinite(latDeg) || latDeg.some((lat) => lat < -90 || lat > 90)) {
    issues.push({ path: `${path}.lat_deg`, message: 'has values that are not finite degrees in [-90, 90]' });
  } else if (!isMonotone(latDeg))
    issues.push({ path: `${path}.lat_deg`, message: 'is not strictly monotone' });
  if (lonDeg.length === 0) issues.push({ path: `${path}.lon_deg`, message: 'is empty' });
  else if (!allFinite(lonDeg))
    issues.push({ path: `${path}.lon_deg`, message: 'has values that are not finite' });
  const kind = grid.kind;
  if (kind === undefined)
    issues.push({ path: `${path}.kind`, message: 'is not set (lat_lon or beta_plane)' });
  else if (kind.$case === 'betaPlane') {
    const { dxM, dyM, f0PerS, betaPerMS } = kind.value;
    if (!(dxM > 0 && dyM > 0 && Number.isFinite(dxM) && Number.isFinite(dyM))) {
      issues.push({
        path: `${path}.beta_plane`,
        message: `spacing dx_m=${dxM}, dy_m=${dyM} must be finite and > 0`,
      });
    }
    if (!Number.isFinite(f0PerS) || !Number.isFinite(betaPerMS)) {
      issues.push({ path: `${path}.beta_plane`, message: 'f0_per_s and beta_per_m_s must be finite' });
    }
    if (!grid.periodicLon)
      issues.push({ path: `${path}.periodic_lon`, message: 'must be true on a beta-plane' });
  }
  if (issues.length > 0 || kind === undefined) throw new InvalidMessageError(issues);
  if (kind.$case === 'latLon') return { kind: 'latlon', latDeg, lonDeg, periodicLon: grid.periodicLon };
  const { dxM, dyM, f0PerS, betaPerMS } = kind.value;
  return { kind: 'beta-plane', latDeg, lonDeg, dxM, dyM, f0PerS, betaPerMS, periodicLon: true };
}

/** Issues with a field's channels, units and grid against its [C, H, W] shape. */
function layoutIssues(
  shape: readonly number[],
  channels: readonly string[],
  units: readonly string[],
  grid: Grid,
  path: string,
): MessageIssue[] {
  const issues: MessageIssue[] = [];
  const [c, h, w] = shape;
  if (shape.length !== 3 || c === undefined || h === undefined || w === undefined) {
    return [{ path: `${path}.tensor.shape`, message: `is ${formatShape(shape)}, expected [C, H, W]` }];
  }
  if (channels.length !== c) {
    issues.push({ path: `${path}.channels`, message: `has ${channels.length} names for C = ${c} channels` });
  }
  if (units.length !== c)
    issues.push({ path: `${path}.units`, message: `has ${units.length} units for C = ${c} channels` });
  if (grid.latDeg.length !== h) {
    issues.push({
      path: `${path}.grid.lat_deg`,
      message: `has ${grid.latDeg.length} latitudes for H = ${h} rows`,
    });
  }
  if (grid.lonDeg.length !== w) {
    issues.push({
      path: `${path}.grid.lon_deg`,
      message: `has ${grid.lonDeg.length} longitudes for W = ${w} columns`,
    });
  }
  return issues;
}

/**
 * Converts an @alignda/tensor field to a Field message (FLOAT32 tensor, little-endian).
 * @param field - the field, [C, H, W]
 * @param validTime - Field.valid_time; omit for a field without a calendar time
 * @throws InvalidMessageError when the data length, channels, units or grid disagree with the shape
 */
export function fieldToProto(field: Field, validTime?: Date): FieldMessage {
  const issues = layoutIssues(field.shape, field.channels, field.units, field.grid, 'field');
  if (issues.length > 0) throw new InvalidMessageError(issues);
  return {
    tensor: tensorFromFloat32(field.data, field.shape, 'field.tensor'),
    channels: [...field.channels],
    units: [...field.units],
    grid: gridToProto(field.grid),
    validTime,
  };
}

/**
 * Converts a Field message to an @alignda/tensor field, checking dtype (FLOAT32), byte length, shape
 * [C, H, W] against the channel names, units and grid, and that its valid time (when set) is a time.
 * @param message - the message; `undefined` (an unset field) is rejected as missing
 * @param path - name of the field in error messages, e.g. `initial`. @defaultValue 'field'
 * @throws InvalidMessageError naming every problem found
 */
export function fieldFromProto(message: FieldMessage | undefined, path = 'field'): ReceivedField {
  if (message === undefined) return invalidMessage(path, 'is required');
  const { data, shape } = float32FromTensor(message.tensor, `${path}.tensor`);
  const grid = gridFromProto(message.grid, `${path}.grid`);
  const issues = layoutIssues(shape, message.channels, message.units, grid, path);
  // A Timestamp beyond a Date's +-8.64e15 ms decodes as an Invalid Date, which no reply could carry back.
  if (message.validTime !== undefined && Number.isNaN(message.validTime.getTime()))
    issues.push({
      path: `${path}.valid_time`,
      message: 'is outside the years -271821..275760 a time can hold',
    });
  if (issues.length > 0) throw new InvalidMessageError(issues);
  const field: Field = {
    data,
    shape: shape as [number, number, number], // checked by layoutIssues: rank 3
    channels: [...message.channels],
    units: [...message.units],
    grid,
  };
  return { field, validTime: message.validTime };
}
