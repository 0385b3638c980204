/**
 * Observation batches between the wire and packages/world: `alignda.v1.ObsBatch` messages and CSV files to
 * @alignda/world's `ObsBatch` (channels resolved to the dataset's), and back.
 */
import { AppError } from '@alignda/errors';
import { InvalidMessageError, assertObsBatchMessage } from '@alignda/rpc';
import type { ObsBatch as ObsBatchMessage } from '@alignda/rpc';
import type { Grid } from '@alignda/tensor';
import type { ObsBatch } from '@alignda/world';

/** The dataset a batch is resolved against: its channel names and grid. */
export interface DatasetLayout {
  readonly channels: readonly string[];
  readonly grid: Grid;
}

/**
 * A message's batch with its channels resolved to the dataset's (`channels` = the dataset's, `channel_index` into
 * them) and grid points given their latitudes and longitudes; incoming QC flags are dropped (QC recomputes them).
 * @throws InvalidMessageError for a structurally broken message or a channel the dataset does not have
 */
export function batchFromMessage(
  message: ObsBatchMessage | undefined,
  dataset: DatasetLayout,
  path = 'batch',
): ObsBatch {
  assertObsBatchMessage(message, { datasetChannels: dataset.channels }, path);
  if (message.values.length === 0)
    throw new InvalidMessageError([{ path: `${path}.values`, message: 'is empty' }]);
  if (message.validTime === undefined)
    throw new InvalidMessageError([{ path: `${path}.valid_time`, message: 'is required' }]);
  const n = message.values.length;
  const toDataset = message.channels.map((name) => dataset.channels.indexOf(name));
  const channelIndex = Int32Array.from(message.channelIndex, (c) => toDataset[c] ?? -1);
  const locations = message.locations;
  const common = {
    validTime: message.validTime.toISOString(),
    channels: [...dataset.channels],
    channelIndex,
    value: Float64Array.from(message.values),
    errorStd: Float64Array.from(message.errorStd),
    qcFlags: new Uint32Array(n),
    qcReasons: Array.from({ length: n }, () => ''),
    ...(message.ids.length === 0 ? {} : { ids: [...message.ids] }),
  };
  if (locations?.$case === 'points')
    return {
      ...common,
      latDeg: Float64Array.from(locations.value.latDeg),
      lonDeg: Float64Array.from(locations.value.lonDeg),
    };
  const rows = locations?.value.row ?? [];
  const cols = locations?.value.col ?? [];
  const { latDeg, lonDeg } = dataset.grid;
  return {
    ...common,
    row: Int32Array.from(rows),
    col: Int32Array.from(cols),
    // Cell centres; a cell off the grid has none (NaN), and QC flags it.
    latDeg: Float64Array.from(rows, (r) => latDeg[r] ?? Number.NaN),
    lonDeg: Float64Array.from(cols, (c) => lonDeg[c] ?? Number.NaN),
  };
}

/** A batch as its message: points or grid points, qc_flags set, ids when it has them. */
export function batchToMessage(batch: ObsBatch): ObsBatchMessage {
  const locations: ObsBatchMessage['locations'] =
    batch.row !== undefined && batch.col !== undefined
      ? { $case: 'gridPoints', value: { row: Array.from(batch.row), col: Array.from(batch.col) } }
      : { $case: 'points', value: { latDeg: Array.from(batch.latDeg), lonDeg: Array.from(batch.lonDeg) } };
  return {
    validTime: new Date(batch.validTime),
    channels: [...batch.channels],
    channelIndex: Array.from(batch.channelIndex),
    locations,
    values: Array.from(batch.value),
    errorStd: Array.from(batch.errorStd),
    qcFlags: Array.from(batch.qcFlags),
    ids: batch.ids === undefined ? [] : [...batch.ids],
  };
}

/** The columns a CSV file must have (`id` is optional). */
export const CSV_COLUMNS = ['channel', 'lat_deg', 'lon_deg', 'value', 'error_std'] as const;

/** A number from a CSV cell: an empty cell is a missing value (NaN, which QC flags), anything else must parse. */
function numberCell(text: string, line: number, column: string): number {
  const t = text.trim();
  if (t === '') return Number.NaN;
  const v = Number(t);
  if (Number.isNaN(v) && t.toLowerCase() !== 'nan')
    throw new AppError('INVALID_ARGUMENT', `raw.content line ${line}: ${column} '${t}' is not a number`);
  return v;
}

/**
 * Parses a UTF-8 CSV file of point observations (header row; columns channel, lat_deg, lon_deg, value, error_std and
 * an optional id; no quoting) into a batch valid at `validTime`, channels resolved to the dataset's.
 * @throws AppError INVALID_ARGUMENT naming the line for a missing column, a wrong number of cells, a cell that is not
 *   a number, an unknown channel or a file without observations
 */
export function batchFromCsv(content: Uint8Array, validTime: Date, dataset: DatasetLayout): ObsBatch {
  const lines = new TextDecoder('utf-8', { fatal: false })
    .decode(content)
    .split(/\r?\n/)
    .map((l, k) => ({ text: l, line: k + 1 }))
    .filter((l) => l.text.trim() !== '');
  const header =
    lines
      .shift()
      ?.text.split(',')
      .map((h) => h.trim()) ?? [];
  const missing = CSV_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length > 0)
    throw new AppError(
      'INVALID_ARGUMENT',
      `raw.content: the header lacks ${missing.join(', ')} (it has ${header.join(', ')})`,
    );
  if (lines.length === 0)
    throw new AppError('INVALID_ARGUMENT', 'raw.content: no observations after the header');
  const col = (name: string): number => header.indexOf(name);
  const idAt = col('id');
  const n = lines.length;
  const out = {
    channelIndex: new Int32Array(n),
    latDeg: new Float64Array(n),
    lonDeg: new Float64Array(n),
    value: new Float64Array(n),
    errorStd: new Float64Array(n),
  };
  const ids: string[] = [];
  lines.forEach(({ text, line }, i) => {
    const cells = text.split(',');
    if (cells.length !== header.length)
      throw new AppError(
        'INVALID_ARGUMENT',
        `raw.content line ${line}: ${cells.length} cells for ${header.length} columns`,
      );
    const cell = (name: string): string => cells[col(name)] ?? '';
    const channel = cell('channel').trim();
    const c = dataset.channels.indexOf(channel);
    if (c < 0)
      throw new AppError(
        'INVALID_ARGUMENT',
        `raw.content line ${line}: '${channel}' is not a channel of the dataset (${dataset.channels.join(', ')})`,
      );
    out.channelIndex[i] = c;
    out.latDeg[i] = numberCell(cell('lat_deg'), line, 'lat_deg');
    out.lonDeg[i] = numberCell(cell('lon_deg'), line, 'lon_deg');
    out.value[i] = numberCell(cell('value'), line, 'value');
    out.errorStd[i] = numberCell(cell('error_std'), line, 'error_std');
    if (idAt >= 0) ids.push((cells[idAt] ?? '').trim());
  });
  return {
    validTime: validTime.toISOString(),
    channels: [...dataset.channels],
    ...out,
    qcFlags: new Uint32Array(n),
    qcReasons: Array.from({ length: n }, () => ''),
    ...(idAt >= 0 ? { ids } : {}),
  };
}
