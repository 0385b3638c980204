/** Timing and table helpers for the benchmarks (bench/*.ts). */

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Options of {@link timeRuns}. */
export interface TimeRunsOptions {
  /** Untimed runs first (JIT, allocator and session warm-up). @defaultValue 5 */
  readonly warmup?: number;
  /** Timed runs. @defaultValue 30 — the count ENGINE-NOTES' figures use */
  readonly runs?: number;
  /** Called after each timed run with (done, total); the benches print a progress line from it. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Runs `fn` `warmup` times untimed, then `runs` times timed, and returns the wall times in ms.
 * @param fn - the work to time (awaited)
 * @param options - see {@link TimeRunsOptions}
 */
export async function timeRuns(fn: () => unknown, options: TimeRunsOptions = {}): Promise<number[]> {
  const warmup = options.warmup ?? 5;
  const runs = options.runs ?? 30;
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
    options.onProgress?.(i + 1, runs);
  }
  return out;
}

/** A one-line progress indicator on stderr (rewritten in place on a TTY). */
export function progress(label: string): (done: number, total: number) => void {
  return (done, total) => {
    const line = `  ${label}: run ${done}/${total}`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}${done === total ? '\n' : ''}`);
    else if (done === total) process.stderr.write(`${line}\n`);
  };
}

/** Renders rows as a Markdown table (first row is the header), columns padded to width. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  const line = (r: readonly string[]): string =>
    `| ${r.map((x, c) => x.padEnd(widths[c] ?? 0)).join(' | ')} |`;
  const [head, ...body] = rows;
  if (head === undefined) return '';
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
