/**
 * The metrics the code defines, read from its prom-client definitions (`new Gauge({ name, labelNames })`, ...) and
 * prom-client's own default metrics under the prefix the code gives them, and the checks of PromQL expressions
 * (infra/prometheus's rules, infra/grafana's panels) against them: every metric named exists, every label matched or
 * grouped by is one of its labels, every queue named is one of QUEUE_NAMES.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

import { Registry, collectDefaultMetrics } from 'prom-client';

import { REPO } from './code-facts.js';

/** One metric as Prometheus exposes it. */
export interface MetricFacts {
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary';
  readonly labels: ReadonlySet<string>;
  /** Where it is defined (a file of the repository, or prom-client's defaults). */
  readonly from: string;
}

/** Labels Prometheus adds to every series (the scrape configs' targets and relabelling). */
export const TARGET_LABELS: ReadonlySet<string> = new Set(['job', 'instance', 'service', 'pod']);

/** The `.ts` files under `dir`, tests left out. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts') && !d.name.endsWith('.test.ts'))
    .map((d) => path.join(d.parentPath, d.name))
    .filter((f) => !f.includes(`${path.sep}node_modules${path.sep}`));
}

/** The series names a metric of `type` called `name` exposes. */
function seriesOf(name: string, type: MetricFacts['type']): string[] {
  if (type === 'histogram') return [`${name}_bucket`, `${name}_sum`, `${name}_count`, name];
  if (type === 'summary') return [`${name}_sum`, `${name}_count`, name];
  return [name];
}

/** Every metric the code of packages/ and services/ defines, by series name (histograms by each series). */
export async function readCodeMetrics(): Promise<Map<string, MetricFacts>> {
  const metrics = new Map<string, MetricFacts>();
  const files = ['packages', 'services'].flatMap((top) =>
    readdirSync(path.join(REPO, top), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => {
        try {
          return sources(path.join(REPO, top, d.name, 'src'));
        } catch {
          return [];
        }
      }),
  );
  const prefixes: { prefix: string; from: string }[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const from = path.relative(REPO, file);
    for (const m of text.matchAll(/new (Counter|Gauge|Histogram|Summary)\b(?:<[^>]*>)?\(\{/g)) {
      const body = text.slice(m.index, m.index + 2000);
      const name = /\bname:\s*'([a-zA-Z_:][\w:]*)'/.exec(body)?.[1];
      if (name === undefined) continue;
      const labels = /\blabelNames:\s*\[([^\]]*)\]/.exec(body)?.[1] ?? '';
      const type = (m[1] ?? '').toLowerCase() as MetricFacts['type'];
      const facts = { type, labels: new Set([...labels.matchAll(/'(\w+)'/g)].map((x) => x[1] ?? '')), from };
      for (const series of seriesOf(name, type)) metrics.set(series, facts);
    }
    for (const m of text.matchAll(/collectDefaultMetrics\(\{[^}]*\bprefix:\s*'(\w*)'/g))
      prefixes.push({ prefix: m[1] ?? '', from });
  }
  for (const { prefix, from } of prefixes) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix });
    for (const metric of await registry.getMetricsAsJSON()) {
      const labels = new Set(metric.values.flatMap((v) => Object.keys(v.labels)).filter((l) => l !== 'le'));
      const type = String(metric.type) as MetricFacts['type'];
      for (const series of seriesOf(metric.name, type))
        metrics.set(series, { type, labels, from: `prom-client's default metrics (${from})` });
    }
    registry.clear();
  }
  return metrics;
}

/** The metric names (alignda_*, and `up`) an expression reads. */
export function metricsOf(expr: string): string[] {
  // Strings ("...") and label matchers ({...}) hold no metric names; `by (...)` / `without (...)` hold labels.
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return [...new Set([...bare.matchAll(/\b(alignda_\w+|up)\b(?!\s*\()/g)].map((m) => m[1] ?? ''))];
}

/**
 * The problems of one expression `where`: a metric the code does not define (unless `declared` holds it), a label it
 * does not have, a queue that is not one of `queueNames`.
 */
export function checkExpression(
  where: string,
  expr: string,
  metrics: ReadonlyMap<string, MetricFacts>,
  queueNames: readonly string[],
): string[] {
  const problems: string[] = [];
  const known = (name: string): MetricFacts | undefined =>
    name === 'up' ? { type: 'gauge', labels: new Set(), from: 'Prometheus' } : metrics.get(name);
  const used = metricsOf(expr);
  const labelsOfAll = new Set([...TARGET_LABELS, 'le']);
  for (const name of used) {
    const m = known(name);
    if (m === undefined) problems.push(`${where}: ${name} is defined by no code`);
    else for (const l of m.labels) labelsOfAll.add(l);
  }
  for (const sel of expr.matchAll(/\b(alignda_\w+|up)\s*\{([^}]*)\}/g)) {
    const m = known(sel[1] ?? '');
    if (m === undefined) continue;
    for (const matcher of (sel[2] ?? '').matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
      const [, label = '', op, value = ''] = matcher;
      const allowed = new Set([
        ...m.labels,
        ...TARGET_LABELS,
        ...(sel[1]?.endsWith('_bucket') ? ['le'] : []),
      ]);
      if (!allowed.has(label)) problems.push(`${where}: ${sel[1]} has no label ${label}`);
      if (label === 'queue' && op === '=' && !queueNames.includes(value))
        problems.push(`${where}: queue "${value}" is not in QUEUE_NAMES`);
    }
  }
  for (const by of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g))
    for (const label of (by[1] ?? '').split(',').map((l) => l.trim()))
      if (label !== '' && !labelsOfAll.has(label))
        problems.push(`${where}: groups by ${label}, a label of none of ${used.join(', ')}`);
  return problems;
}
