import type { ObsBatch } from './generated/alignda/v1/common.js';
import { InvalidMessageError, type MessageIssue } from './invalid-message-error.js';

/** What a batch is checked against, when the receiver knows it. */
export interface ObsBatchContext {
  /**
   * The dataset's channel names. When given, every name in ObsBatch.channels must be one of them.
   * @defaultValue undefined (any names)
   */
  readonly datasetChannels?: readonly string[];
  /**
   * The grid's rows and columns. When given, grid-point locations must lie inside.
   * @defaultValue undefined (indices unchecked)
   */
  readonly gridShape?: { readonly height: number; readonly width: number };
}

/** At most this many per-observation issues are listed for one repeated field; the rest are counted. */
const MAX_ISSUES_PER_FIELD = 3;

/** Issues for the entries of `values` that fail `ok`, at most a few listed. */
function entryIssues(
  path: string,
  values: readonly number[],
  ok: (value: number) => boolean,
  what: string,
): MessageIssue[] {
  const bad: number[] = [];
  values.forEach((v, i) => {
    if (!ok(v)) bad.push(i);
  });
  const issues = bad
    .slice(0, MAX_ISSUES_PER_FIELD)
    .map((i) => ({ path: `${path}[${i}]`, message: `${values[i]} ${what}` }));
  if (bad.length > MAX_ISSUES_PER_FIELD) {
    issues.push({ path, message: `${bad.length - MAX_ISSUES_PER_FIELD} more entries ${what}` });
  }
  return issues;
}

/**
 * Structural checks of an observation batch: required fields, equal lengths, indices in range. These
 * make a batch unusable, so they reject it. Per-observation plausibility (missing or out-of-range
 * values, non-positive error standard deviations, locations off the grid) is quality control's job:
 * those observations get QC flags instead, and are not reported here.
 * @param batch - the batch; `undefined` (an unset message field) is reported as missing
 * @param path - name of the batch in issue paths. @defaultValue 'observations'
 * @returns every problem found; empty when the batch is well formed
 */
export function obsBatchIssues(
  batch: ObsBatch | undefined,
  context: ObsBatchContext = {},
  path = 'observations',
): MessageIssue[] {
  if (batch === undefined) return [{ path, message: 'is required' }];
  const issues: MessageIssue[] = [];
  const n = batch.values.length;
  const sameLength = (field: string, length: number, optional = false): void => {
    if (length !== n && !(optional && length === 0)) {
      const want = optional ? `0 or N = ${n}` : `N = ${n}`;
      issues.push({
        path: `${path}.${field}`,
        message: `has ${length} entries, expected ${want} (the length of values)`,
      });
    }
  };
  if (batch.validTime === undefined || Number.isNaN(batch.validTime.getTime())) {
    issues.push({ path: `${path}.valid_time`, message: 'is required' });
  }
  if (batch.channels.length === 0) issues.push({ path: `${path}.channels`, message: 'is empty' });
  const seen = new Set<string>();
  for (const name of batch.channels) {
    if (seen.has(name)) issues.push({ path: `${path}.channels`, message: `names channel '${name}' twice` });
    seen.add(name);
    if (context.datasetChannels !== undefined && !context.datasetChannels.includes(name)) {
      issues.push({
        path: `${path}.channels`,
        message: `'${name}' is not a channel of the dataset (${context.datasetChannels.join(', ')})`,
      });
    }
  }
  sameLength('channel_index', batch.channelIndex.length);
  sameLength('error_std', batch.errorStd.length);
  sameLength('qc_flags', batch.qcFlags.length, true);
  sameLength('ids', batch.ids.length, true);
  const channelCount = batch.channels.length;
  issues.push(
    ...entryIssues(
      `${path}.channel_index`,
      batch.channelIndex,
      (c) => c < channelCount,
      `is not an index into the ${channelCount} channels`,
    ),
  );
  const locations = batch.locations;
  if (locations === undefined) {
    issues.push({ path: `${path}.locations`, message: 'is not set (points or grid_points)' });
  } else if (locations.$case === 'points') {
    sameLength('points.lat_deg', locations.value.latDeg.length);
    sameLength('points.lon_deg', locations.value.lonDeg.length);
  } else {
    sameLength('grid_points.row', locations.value.row.length);
    sameLength('grid_points.col', locations.value.col.length);
    const shape = context.gridShape;
    if (shape !== undefined) {
      const { height, width } = shape;
      issues.push(
        ...entryIssues(
          `${path}.grid_points.row`,
          locations.value.row,
          (r) => r < height,
          `is outside [0, ${height})`,
        ),
        ...entryIssues(
          `${path}.grid_points.col`,
          locations.value.col,
          (c) => c < width,
          `is outside [0, ${width})`,
        ),
      );
    }
  }
  return issues;
}

/**
 * Asserts that a received `alignda.v1.ObsBatch` message keeps its contract: throws unless
 * {@link obsBatchIssues} finds nothing. It checks the message's structure only; the domain check of the
 * observations (QC flags, locations on the grid) is `validateObsBatch` of `@alignda/world`, run on the
 * decoded batch.
 * @throws InvalidMessageError listing the first problems (all are in `issues`)
 */
export function assertObsBatchMessage(
  batch: ObsBatch | undefined,
  context: ObsBatchContext = {},
  path = 'observations',
): asserts batch is ObsBatch {
  const issues = obsBatchIssues(batch, context, path);
  if (issues.length > 0) throw new InvalidMessageError(issues);
}
