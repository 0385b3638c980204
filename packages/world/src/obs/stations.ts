import { readFile } from 'node:fs/promises';

import { DatasetError } from '../dataset/dataset-error.js';
import type { ObsBatch } from './obs-batch.js';

/** A weather station. */
export interface Station {
  /** Short identifier, e.g. `SEA`. */
  readonly id: string;
  /** Name as written in the station file's `location` column. */
  readonly name: string;
  readonly latDeg: number;
  /** Degrees east in [0, 360). */
  readonly lonDeg: number;
}

/**
 * Stations of `stations/weather_seattle_newyork_2012-2015.csv`, coordinates from
 * ../shared/data/README.md: Seattle (SEA) 47.45N 237.69E, New York (Central Park / LGA) 40.78N 286.03E.
 */
export const KNOWN_STATIONS: readonly Station[] = [
  { id: 'SEA', name: 'Seattle', latDeg: 47.45, lonDeg: 237.69 },
  { id: 'NYC', name: 'New York', latDeg: 40.78, lonDeg: 286.03 },
];

/** One station day: the daily mean near-surface temperature (temp_max + temp_min) / 2. */
export interface StationDay {
  readonly station: Station;
  /** The valid (local calendar) day, `YYYY-MM-DD`. */
  readonly date: string;
  /** (temp_max + temp_min) / 2 in kelvin. */
  readonly tMeanK: number;
  readonly tMaxC: number;
  readonly tMinC: number;
  /** 1-based line number in the file. */
  readonly line: number;
}

/** A parsed station file: good days and the rows rejected with their reasons. */
export interface StationFile {
  readonly days: StationDay[];
  readonly rejected: { line: number; reason: string }[];
}

/** 0 deg C in kelvin. */
const ZERO_CELSIUS_K = 273.15;
const REQUIRED = ['location', 'date', 'temp_max', 'temp_min'] as const;

function validDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

/**
 * Parses the daily station CSV (a strict parser: comma-separated, no quoting, header first). Rows
 * with the wrong field count, quotes, an unknown station, a bad date, non-numeric temperatures or
 * temp_min > temp_max are rejected with a reason, never thrown.
 * @param text - the file's text
 * @param stations - stations by `location` name @defaultValue {@link KNOWN_STATIONS}
 * @throws DatasetError `MALFORMED_INPUT` when the header lacks a required column
 */
export function parseStationCsv(text: string, stations: readonly Station[] = KNOWN_STATIONS): StationFile {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const col: Record<string, number> = {};
  for (const name of REQUIRED) {
    const i = header.indexOf(name);
    if (i < 0)
      throw new DatasetError(
        'MALFORMED_INPUT',
        `station csv: header has no ${name} column (header: ${lines[0] ?? ''})`,
      );
    col[name] = i;
  }
  const byName = new Map(stations.map((s) => [s.name, s]));
  const days: StationDay[] = [];
  const rejected: { line: number; reason: string }[] = [];
  for (let k = 1; k < lines.length; k++) {
    const raw = lines[k] ?? '';
    if (raw.trim() === '') continue;
    const line = k + 1;
    if (raw.includes('"')) {
      rejected.push({ line, reason: 'quoted fields are not supported' });
      continue;
    }
    const f = raw.split(',');
    if (f.length !== header.length) {
      rejected.push({ line, reason: `${f.length} fields, the header has ${header.length}` });
      continue;
    }
    const get = (name: (typeof REQUIRED)[number]): string => (f[col[name] as number] ?? '').trim();
    const station = byName.get(get('location'));
    if (station === undefined) {
      rejected.push({ line, reason: `unknown station "${get('location')}"` });
      continue;
    }
    const date = get('date');
    if (!validDate(date)) {
      rejected.push({ line, reason: `date "${date}" is not a valid YYYY-MM-DD day` });
      continue;
    }
    const tMax = get('temp_max') === '' ? Number.NaN : Number(get('temp_max'));
    const tMin = get('temp_min') === '' ? Number.NaN : Number(get('temp_min'));
    if (!Number.isFinite(tMax) || !Number.isFinite(tMin)) {
      rejected.push({
        line,
        reason: `temp_max "${get('temp_max')}" / temp_min "${get('temp_min')}" is not a number`,
      });
      continue;
    }
    if (tMin > tMax) {
      rejected.push({ line, reason: `temp_min ${tMin} exceeds temp_max ${tMax}` });
      continue;
    }
    days.push({ station, date, tMeanK: (tMax + tMin) / 2 + ZERO_CELSIUS_K, tMaxC: tMax, tMinC: tMin, line });
  }
  return { days, rejected };
}

/** Reads and parses a station CSV file (see {@link parseStationCsv}). */
export async function readStationCsv(file: string, stations?: readonly Station[]): Promise<StationFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new DatasetError('SOURCE_NOT_FOUND', `station csv ${file} cannot be read`, { cause: err });
  }
  return parseStationCsv(text, stations);
}

/**
 * The station days of one date as a point-observation batch of one channel (daily mean temperature).
 * @param channels - the dataset's channel list; `channel` must be in it
 * @param errorStd - observation error std in K (representativeness of a daily mean at a point vs a
 *   2.5-degree cell, plus the sigma-0.995 vs 2 m difference)
 * @returns a batch valid at noon UTC of the date (the daily mean's representative time)
 * @throws DatasetError `MALFORMED_INPUT` when `channel` is not in `channels` or no station has the date
 */
export function stationObsBatch(
  days: readonly StationDay[],
  date: string,
  channels: readonly string[],
  channel: string,
  errorStd: number,
): ObsBatch {
  const c = channels.indexOf(channel);
  if (c < 0)
    throw new DatasetError(
      'MALFORMED_INPUT',
      `stationObsBatch: channel ${channel} not in ${channels.join(', ')}`,
    );
  const sel = days.filter((d) => d.date === date);
  if (sel.length === 0)
    throw new DatasetError('MALFORMED_INPUT', `stationObsBatch: no station observation on ${date}`);
  return {
    validTime: `${date}T12:00:00Z`,
    channels,
    channelIndex: new Int32Array(sel.length).fill(c),
    latDeg: Float64Array.from(sel, (d) => d.station.latDeg),
    lonDeg: Float64Array.from(sel, (d) => d.station.lonDeg),
    value: Float64Array.from(sel, (d) => d.tMeanK),
    errorStd: new Float64Array(sel.length).fill(errorStd),
    qcFlags: new Uint32Array(sel.length),
    qcReasons: new Array<string>(sel.length).fill(''),
    ids: sel.map((d) => d.station.id),
  };
}
