/** Plain-text formatting of the CLI's reports. */
import { mean, std } from '@alignda/pipelines';

/** A plain-text table with columns padded to their widest cell; the first column left-aligned. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  indent = '',
): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string =>
    indent +
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
  const rule = indent + widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** `mean +- std` with a precision that suits the magnitude ('-' when the mean is not finite). */
export function pm(xs: readonly number[]): string {
  const m = mean(xs);
  if (!Number.isFinite(m)) return '-';
  const digits = Math.abs(m) >= 100 ? 1 : Math.abs(m) >= 1 ? 3 : 4;
  return `${m.toFixed(digits)} +- ${std(xs).toFixed(digits)}`;
}

/** A loss or MSE: 4 decimals from 0.01 up, 4 significant digits in exponent form below. */
export function fmt(x: number): string {
  return Math.abs(x) >= 0.01 ? x.toFixed(4) : x.toExponential(3);
}
