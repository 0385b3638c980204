/**
 * infra/prometheus (scrape config, alert rules) and infra/grafana (the dashboard) matched against the code: the
 * scrape targets are the gateway's service name, port and metrics route (compose and infra/k8s), every metric a rule
 * or a panel reads is defined by the code's prom-client definitions (or prom-client's defaults under the code's
 * prefix), with the labels it matches and groups by, and every queue it names is one of QUEUE_NAMES. The last block
 * breaks the files one way at a time and shows that each break is caught.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { QUEUE_NAMES } from '@alignda/queue';

import { REPO } from './code-facts.js';
import { composeFile, parseComposeText } from './compose-model.js';
import { readK8s } from './k8s-model.js';
import { checkExpression, metricsOf, readCodeMetrics } from './metric-checks.js';
import type { MetricFacts } from './metric-checks.js';

const read = (file: string): string => readFileSync(path.join(REPO, file), 'utf8');
const PROMETHEUS = read('infra/prometheus/prometheus.yml');
const ALERTS = read('infra/prometheus/alerts.yml');
const DASHBOARD = read('infra/grafana/alignda.json');

/**
 * Declared by the cycle service being written beside this work (issue 14 items 2 and 5): `alignda_cycle_lag_seconds`
 * (how far a cycle runs behind the wall clock) and `alignda_cycle_diverged` (0/1), gauges labelled `cycle`. They count
 * as defined only while no code defines them; once the cycle service does, its definitions (and labels) are what the
 * rules are checked against, and no other name may be missing.
 */
const DECLARED_BY_CYCLE_SERVICE: ReadonlyMap<string, MetricFacts> = new Map([
  [
    'alignda_cycle_lag_seconds',
    { type: 'gauge', labels: new Set(['cycle']), from: 'the cycle service (declared)' },
  ],
  [
    'alignda_cycle_diverged',
    { type: 'gauge', labels: new Set(['cycle']), from: 'the cycle service (declared)' },
  ],
]);

let code: Map<string, MetricFacts>;
let metrics: Map<string, MetricFacts>;
beforeAll(async () => {
  code = await readCodeMetrics();
  metrics = new Map([...[...DECLARED_BY_CYCLE_SERVICE].filter(([name]) => !code.has(name)), ...code]);
});

type Obj = Record<string, unknown>;
interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The rules of an alerts file. */
function rulesOf(text: string): Rule[] {
  const doc = parse(text) as { groups?: { name?: string; rules?: Rule[] }[] };
  return (doc.groups ?? []).flatMap((g) => g.rules ?? []);
}

/** The panels' queries of a dashboard, with where they are. */
function panelQueries(text: string): { where: string; expr: string; datasource: unknown }[] {
  const dash = JSON.parse(text) as { panels?: Obj[] };
  return (dash.panels ?? []).flatMap((p) =>
    ((p.targets as Obj[] | undefined) ?? []).map((t) => ({
      where: `panel "${String(p.title)}"`,
      expr: typeof t.expr === 'string' ? t.expr : '',
      datasource: t.datasource,
    })),
  );
}

/** Every problem of the alert rules `text`. */
function alertProblems(text: string): string[] {
  const problems: string[] = [];
  const rules = rulesOf(text);
  if (rules.length === 0) problems.push('alerts.yml has no rules');
  for (const r of rules) {
    const where = `alert ${r.alert ?? '(unnamed)'}`;
    if (r.alert === undefined || r.expr === undefined) problems.push(`${where}: needs alert and expr`);
    if (!['warning', 'critical'].includes(r.labels?.severity ?? ''))
      problems.push(`${where}: severity is not warning or critical`);
    if ((r.annotations?.summary ?? '') === '') problems.push(`${where}: no summary`);
    problems.push(...checkExpression(where, r.expr ?? '', metrics, QUEUE_NAMES));
  }
  return problems;
}

/** Every problem of the dashboard `text`. */
function dashboardProblems(text: string): string[] {
  const problems: string[] = [];
  const dash = JSON.parse(text) as { uid?: string; panels?: Obj[]; templating?: { list?: Obj[] } };
  const ids = (dash.panels ?? []).map((p) => p.id);
  if (new Set(ids).size !== ids.length) problems.push('panel ids repeat');
  const queries = panelQueries(text);
  if (queries.length === 0) problems.push('the dashboard has no queries');
  for (const q of queries) {
    if (JSON.stringify(q.datasource) !== JSON.stringify({ type: 'prometheus', uid: '${datasource}' }))
      problems.push(`${q.where}: not on the $datasource variable`);
    problems.push(...checkExpression(q.where, q.expr, metrics, QUEUE_NAMES));
  }
  for (const v of dash.templating?.list ?? [])
    if (typeof v.definition === 'string')
      problems.push(...checkExpression(`variable ${String(v.name)}`, v.definition, metrics, QUEUE_NAMES));
  return problems;
}

describe('what the test reads from the code', () => {
  it("finds the gateway's metrics and prom-client's defaults under its prefix", () => {
    for (const name of [
      'alignda_gateway_http_request_duration_seconds_bucket',
      'alignda_queue_jobs',
      'alignda_queue_oldest_waiting_seconds',
      'alignda_queue_jobs_finished_total',
      'alignda_sampler_step_seconds_bucket',
      'alignda_gateway_process_cpu_seconds_total',
    ])
      expect(code.has(name), name).toBe(true);
    expect([...(code.get('alignda_queue_jobs_finished_total')?.labels ?? [])].sort()).toEqual([
      'outcome',
      'queue',
    ]);
  });

  it('lets only the two cycle metrics be missing from the code, and only while they are', () => {
    const referenced = [
      ...rulesOf(ALERTS).flatMap((r) => metricsOf(r.expr ?? '')),
      ...panelQueries(DASHBOARD).flatMap((q) => metricsOf(q.expr)),
    ];
    const missing = [...new Set(referenced.filter((n) => n !== 'up' && !code.has(n)))];
    for (const name of missing) expect([...DECLARED_BY_CYCLE_SERVICE.keys()], name).toContain(name);
    for (const [name, declared] of DECLARED_BY_CYCLE_SERVICE)
      if (code.has(name)) expect(code.get(name)?.labels, name).toEqual(declared.labels);
  });
});

describe('infra/prometheus', () => {
  it("scrapes the gateway's metrics route at its compose service name and port", () => {
    const config = parse(PROMETHEUS) as { rule_files?: string[]; scrape_configs?: Obj[] };
    for (const file of config.rule_files ?? [])
      expect(existsSync(path.join(REPO, 'infra/prometheus', file)), file).toBe(true);
    expect(config.rule_files).toContain('alerts.yml');
    const job = (config.scrape_configs ?? []).find((j) => j.job_name === 'alignda-gateway');
    const sd = (job?.dns_sd_configs as { names: string[]; port: number }[] | undefined)?.[0];
    const compose = composeFile(parseComposeText(read('docker-compose.yml')));
    for (const name of sd?.names ?? ['(none)']) {
      const service = compose.services.get(name);
      expect(service?.command, name).toEqual(['serve', 'gateway']);
      expect(Number(service?.env.HTTP_PORT), name).toBe(sd?.port);
    }
    expect(read('services/gateway/src/routes/metrics.ts')).toContain(`'${String(job?.metrics_path)}'`);
  });

  it('finds the gateway pods on Kubernetes by their annotations, at the port their container serves', () => {
    const dir = path.join(REPO, 'infra/k8s');
    const files = new Map(readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]));
    const gateway = readK8s(files, new Map()).containers.get('gateway');
    expect(gateway?.podAnnotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/path': '/metrics',
    });
    expect(gateway?.containerPorts).toContain(Number(gateway?.podAnnotations['prometheus.io/port']));
    const config = parse(PROMETHEUS) as { scrape_configs?: Obj[] };
    const pods = (config.scrape_configs ?? []).find((j) => j.job_name === 'alignda-pods');
    expect(JSON.stringify(pods)).toContain('__meta_kubernetes_pod_annotation_prometheus_io_scrape');
  });

  it('alerts on job failures, the oldest queued job, sampler steps, cycle lag and divergence, over defined metrics', () => {
    expect(alertProblems(ALERTS)).toEqual([]);
    const read = new Set(rulesOf(ALERTS).flatMap((r) => metricsOf(r.expr ?? '')));
    for (const name of [
      'alignda_queue_jobs_finished_total',
      'alignda_queue_oldest_waiting_seconds',
      'alignda_sampler_step_seconds_bucket',
      'alignda_cycle_lag_seconds',
      'alignda_cycle_diverged',
    ])
      expect(read, name).toContain(name);
  });
});

describe('infra/grafana/alignda.json', () => {
  it('charts defined metrics only, on the datasource variable', () => {
    expect(dashboardProblems(DASHBOARD)).toEqual([]);
  });
});

describe('a broken rule or panel is caught', () => {
  it.each([
    {
      title: 'a misspelt metric in a rule',
      alerts: ALERTS.replace('alignda_queue_oldest_waiting_seconds', 'alignda_queue_oldest_wait_seconds'),
      expected: /alert AligndaOldestQueuedJobStale: alignda_queue_oldest_wait_seconds is defined by no code/,
    },
    {
      title: 'a label the metric does not have',
      alerts: ALERTS.replace('{outcome="failed"}', '{result="failed"}'),
      expected: /alignda_queue_jobs_finished_total has no label result/,
    },
    {
      title: 'a queue that is not in QUEUE_NAMES',
      alerts: ALERTS.replace(
        'max by (queue) (alignda_queue_oldest_waiting_seconds)',
        'max by (queue) (alignda_queue_oldest_waiting_seconds{queue="samples"})',
      ),
      expected: /queue "samples" is not in QUEUE_NAMES/,
    },
    {
      title: 'grouping by a label no metric has',
      alerts: ALERTS.replace(
        'max by (cycle) (alignda_cycle_diverged)',
        'max by (run) (alignda_cycle_diverged)',
      ),
      expected: /groups by run, a label of none of alignda_cycle_diverged/,
    },
    {
      title: 'a misspelt metric in a panel',
      dashboard: DASHBOARD.replace(
        'alignda_sampler_step_seconds_bucket',
        'alignda_sampler_steps_seconds_bucket',
      ),
      expected: /panel "Sampler time per step": alignda_sampler_steps_seconds_bucket is defined by no code/,
    },
  ])('$title', ({ alerts, dashboard, expected }) => {
    expect(alerts ?? dashboard, 'the break changes the file').not.toBe(
      alerts === undefined ? DASHBOARD : ALERTS,
    );
    const problems = alerts === undefined ? dashboardProblems(dashboard ?? '') : alertProblems(alerts);
    expect(problems.join('\n')).toMatch(expected);
  });
});
