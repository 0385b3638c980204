import { DatasetError } from './dataset-error.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  second: 1000,
  seconds: 1000,
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/**
 * Converts CF time values (`<unit> since <reference>`, standard/gregorian calendar, UTC) to epoch
 * milliseconds, rounded to the second.
 * @param values - time coordinate values
 * @param units - e.g. `hours since 1800-01-01` or `days since 2000-01-01 00:00:00`
 * @throws DatasetError `MALFORMED_INPUT` for units that are not `<unit> since <date>`
 */
export function cfTimesToEpochMs(
  values: ArrayLike<number>,
  units: string,
  calendar = 'standard',
): Float64Array {
  const m =
    /^\s*(\w+)\s+since\s+(\d{1,4}-\d{1,2}-\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}(?:\.\d*)?))?)?\s*(Z|UTC|[+-]00:?00)?\s*$/i.exec(
      units,
    );
  const unitMs = m ? UNIT_MS[(m[1] ?? '').toLowerCase()] : undefined;
  if (!m || unitMs === undefined) {
    throw new DatasetError(
      'MALFORMED_INPUT',
      `time units "${units}" are not "<seconds|minutes|hours|days> since <date>"`,
    );
  }
  if (!['standard', 'gregorian', 'proleptic_gregorian'].includes(calendar.toLowerCase())) {
    throw new DatasetError(
      'MALFORMED_INPUT',
      `time calendar "${calendar}" is not supported (standard/gregorian only)`,
    );
  }
  const [y, mo, d] = (m[2] ?? '').split('-').map(Number) as [number, number, number];
  // setUTCFullYear, unlike Date.UTC, keeps years 0..99 as given (`days since 0001-01-01`).
  const refDate = new Date(0);
  refDate.setUTCFullYear(y, mo - 1, d);
  refDate.setUTCHours(Number(m[3] ?? 0), Number(m[4] ?? 0), 0, 0);
  const ref = refDate.getTime() + Number(m[5] ?? 0) * 1000;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++)
    out[i] = Math.round((ref + (values[i] as number) * unitMs) / 1000) * 1000;
  return out;
}
