/**
 * The faults of `npm run fuzz`'s gRPC messages (reliability/fuzz/grpc-cases.ts), part by part: a tensor (wrong shape
 * or length, a 2^32 - 1 or huge dimension, the wrong dtype, NaN / Inf values), a field (its tensor, grid, channels and
 * units, a time beyond what a Date holds, missing) and an observation batch (lengths, indices, locations, times).
 */
import { status } from '@grpc/grpc-js';
import fc from 'fast-check';

import { Dtype } from '@alignda/rpc';
import type { FieldMessage, GridMessage, ObsBatch, TensorMessage } from '@alignda/rpc';

/** A status besides INVALID_ARGUMENT that answers a fault correctly, and why. */
export interface AllowedStatus {
  readonly code: status;
  readonly why: string;
}

/** A valid time within the QG world's year and any dataset's range. */
export const VALID_TIME = new Date('2000-01-10T06:00:00Z');

/** A stand-in `Date` whose epoch milliseconds are `ms`, beyond what a real Date holds (ts-proto encodes getTime()). */
function farTime(ms: number): Date {
  const fake = Object.create(Date.prototype) as Date;
  return Object.assign(fake, { getTime: () => ms });
}

/** A change to one part of a message, named for the report. */
export interface Fault<T> {
  readonly fault: string;
  readonly value: T;
  readonly allowed?: readonly AllowedStatus[];
}

/** A {@link Fault}: its name, the changed part, the codes besides INVALID_ARGUMENT that answer it rightly. */
export const fault = <T>(name: string, value: T, allowed: readonly AllowedStatus[] = []): Fault<T> => ({
  fault: name,
  value,
  allowed,
});

/** Float32 bytes, little-endian. */
function float32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Faults of a FLOAT32 tensor of `shape` (the valid one is `valid`). */
export function tensorFaults(
  valid: TensorMessage,
  at: string,
): fc.Arbitrary<Fault<TensorMessage | undefined>> {
  const n = valid.data.byteLength / 4;
  const shape = valid.shape;
  const same = (s: readonly number[]): boolean =>
    s.length === shape.length && s.every((d, i) => d === shape[i]);
  return fc.oneof(
    fc.constant(fault(`${at}: missing`, undefined)),
    fc
      .array(fc.nat({ max: 80 }), { maxLength: 5 })
      .filter((s) => !same(s))
      .map((s) =>
        fault(`${at}: shape ${JSON.stringify(s)} instead of ${JSON.stringify(shape)}`, {
          ...valid,
          shape: s,
        }),
      ),
    fc.nat({ max: Math.max(0, shape.length - 1) }).map((axis) =>
      // A uint32 field holds no -1: an int32 -1 on the wire decodes as 2^32 - 1, which is what is sent.
      fault(`${at}: dimension -1 (2^32 - 1 as a uint32)`, {
        ...valid,
        shape: shape.map((d, i) => (i === axis ? 0xffff_ffff : d)),
      }),
    ),
    fc
      .constantFrom(
        [2 ** 31, 2 ** 31, 2 ** 31],
        [0xffff_ffff, 0xffff_ffff],
        [...shape.slice(1), 2 ** 30, 2 ** 30],
      )
      .map((s) => fault(`${at}: huge dimensions ${JSON.stringify(s)}`, { ...valid, shape: s })),
    fc
      .integer({ min: -64, max: 64 })
      .filter((k) => k !== 0 && -k < valid.data.byteLength)
      .map((k) => {
        const data = new Uint8Array(valid.data.byteLength + k);
        data.set(valid.data.subarray(0, Math.min(valid.data.byteLength, data.byteLength)));
        return fault(`${at}: data ${k > 0 ? k : -k} bytes too ${k > 0 ? 'long' : 'short'}`, {
          ...valid,
          data,
        });
      }),
    fc
      .constantFrom(Dtype.FLOAT64, Dtype.INT32, Dtype.UINT8, Dtype.UNSPECIFIED, 99 as Dtype)
      .map((dtype) => fault(`${at}: dtype ${Dtype[dtype] ?? dtype}`, { ...valid, dtype })),
    fc
      .tuple(
        fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
        fc.uniqueArray(fc.nat({ max: n - 1 }), { minLength: 1, maxLength: 8 }),
      )
      .map(([bad, where]) => {
        const values = new Float32Array(valid.data.slice().buffer);
        for (const i of where) values[i] = bad;
        return fault(`${at}: ${bad} at ${where.length} element(s)`, { ...valid, data: float32Bytes(values) });
      }),
  );
}

/** Faults of a field of the served layout. */
export function fieldFaults(valid: FieldMessage, at: string): fc.Arbitrary<Fault<FieldMessage | undefined>> {
  const grid = valid.grid;
  const tensor = valid.tensor;
  if (grid === undefined || tensor === undefined) throw new Error('the valid field has no grid or tensor');
  const gridFaults: fc.Arbitrary<Fault<GridMessage | undefined>> = fc.oneof(
    fc.constant(fault(`${at}.grid: missing`, undefined)),
    fc
      .integer({ min: -3, max: 3 })
      .filter((k) => k !== 0 && grid.latDeg.length + k >= 0)
      .map((k) =>
        fault(`${at}.grid.lat_deg: ${k} entries off`, {
          ...grid,
          latDeg: grid.latDeg.slice(0, grid.latDeg.length + k).concat(Array<number>(Math.max(0, k)).fill(10)),
        }),
      ),
    fc
      .constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 91, -1e9)
      .map((v) => fault(`${at}.grid.lat_deg[0]: ${v}`, { ...grid, latDeg: [v, ...grid.latDeg.slice(1)] })),
    fc.constantFrom(Number.NaN, 1e12, -5).map((v) =>
      fault(`${at}.grid.lon_deg[1]: ${v}`, {
        ...grid,
        lonDeg: grid.lonDeg.map((x, i) => (i === 1 ? v : x)),
      }),
    ),
    fc.constant(fault(`${at}.grid.kind: missing`, { ...grid, kind: undefined })),
    fc.constant(
      fault(`${at}.grid.kind: lat_lon in place of the served one`, {
        ...grid,
        kind:
          grid.kind?.$case === 'latLon'
            ? { $case: 'betaPlane' as const, value: { dxM: -1, dyM: 0, f0PerS: 0, betaPerMS: 0 } }
            : { $case: 'latLon' as const, value: {} },
      }),
    ),
  );
  return fc.oneof(
    {
      weight: 4,
      arbitrary: tensorFaults(tensor, `${at}.tensor`).map((f) => ({
        ...f,
        value: { ...valid, tensor: f.value },
      })),
    },
    { weight: 2, arbitrary: gridFaults.map((f) => ({ ...f, value: { ...valid, grid: f.value } })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          { channels: [], units: [] },
          { channels: valid.channels.map((c) => `${c}_x`) },
          { channels: [...valid.channels, 'extra'], units: [...valid.units, 'K'] },
          { units: valid.units.map(() => 'furlong') },
          { channels: [...valid.channels].reverse() },
        )
        .filter(
          (change) =>
            JSON.stringify(change.channels ?? valid.channels) !== JSON.stringify(valid.channels) ||
            change.units !== undefined,
        )
        .map((change) => fault(`${at}: channels/units ${JSON.stringify(change)}`, { ...valid, ...change })),
    },
    { weight: 1, arbitrary: fc.constant(fault(`${at}: missing`, undefined)) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(1e17, -1e17, 8.64e15 + 1000)
        .map((ms) =>
          fault(`${at}.valid_time: ${ms} ms, outside any date`, { ...valid, validTime: farTime(ms) }),
        ),
    },
  );
}

/** Why ingest may answer a batch fault OK: the observation is flagged by its quality control, which is its job. */
const QC_FLAGGED: AllowedStatus = {
  code: status.OK,
  why: "ingest's quality control flags the observation (MISSING, BAD_ERROR, OUTSIDE_GRID) and answers the batch",
};

/** Batch faults that ingest's quality control flags per observation rather than refusing the batch. */
const QC_FAULTS: readonly Partial<ObsBatch>[] = [
  { errorStd: [0] },
  { errorStd: [-1] },
  { errorStd: [Number.NaN] },
  { values: [Number.NaN] },
  { values: [Number.POSITIVE_INFINITY] },
  { locations: { $case: 'gridPoints', value: { row: [1e6], col: [0] } } },
  { locations: { $case: 'points', value: { latDeg: [Number.NaN], lonDeg: [0] } } },
  { locations: { $case: 'points', value: { latDeg: [95], lonDeg: [0] } } },
];

/**
 * Faults of an observation batch on the served layout.
 * @param qc - whether the receiver runs quality control (ingest), which flags some faults instead of refusing them
 */
export function batchFaults(
  valid: ObsBatch,
  at: string,
  qc = false,
): fc.Arbitrary<Fault<ObsBatch | undefined>> {
  const C = valid.channels.length;
  return fc.oneof(
    fc.constant(fault(`${at}: missing`, undefined)),
    fc.constant(fault(`${at}.valid_time: missing`, { ...valid, validTime: undefined })),
    fc
      .constantFrom(1e17, -1e17)
      .map((ms) =>
        fault(`${at}.valid_time: ${ms} ms, outside any date`, { ...valid, validTime: farTime(ms) }),
      ),
    fc
      .integer({ min: C, max: C + 1000 })
      .map((i) => fault(`${at}.channel_index[0]: ${i} of ${C} channels`, { ...valid, channelIndex: [i] })),
    fc
      .constantFrom<Partial<ObsBatch>[]>(
        ...QC_FAULTS,
        { values: [] },
        { values: [1, 2] },
        { errorStd: [] },
        { channelIndex: [] },
        { qcFlags: [0, 0, 0] },
        { ids: ['a', 'b'] },
        { channels: [] },
        { channels: ['no-such-channel'] },
        { locations: undefined },
        { locations: { $case: 'gridPoints', value: { row: [0, 1], col: [0] } } },
        { locations: { $case: 'points', value: { latDeg: [], lonDeg: [] } } },
      )
      .map((change) =>
        fault(
          `${at}: ${JSON.stringify(change)}`,
          { ...valid, ...change },
          qc && QC_FAULTS.includes(change) ? [QC_FLAGGED] : [],
        ),
      ),
  );
}
