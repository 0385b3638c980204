/**
 * The checks of docker-compose.yml (and an override merged into it) against the code and the Dockerfile. Each returns
 * the problems it finds, one line each, so that a test can show that a broken file is caught as well as that the real
 * one passes.
 */
import path from 'node:path';

import { loadConfig } from '@alignda/config';
import type { Config } from '@alignda/config';
import { defaultBackground, modelSetName } from '@alignda/pipelines';
import { parseServiceArgs } from '@alignda/rpc';
import type { ServiceArgs } from '@alignda/rpc';

import { ADDRESS_VARIABLES } from '../../services/orchestrator/src/settings.js';
import type { CodeFacts, EnvReader } from './code-facts.js';
import type { ComposeFile, ComposeService } from './compose-model.js';
import { imageOf } from './dockerfile.js';
import type { Stage } from './dockerfile.js';

/** The image target of a service built without one: the Dockerfile's last stage. */
function targetOf(s: ComposeService, stages: readonly Stage[]): string {
  return s.build?.target ?? stages.at(-1)?.name ?? '';
}

/** One container of the alignda image, with what the code makes of its environment. */
export interface Container {
  readonly service: ComposeService;
  /** The service `serve` runs, or undefined for a CLI command (check, train, world, ...). */
  readonly serves: string | undefined;
  /** The image's environment under the service's. */
  readonly env: Readonly<Record<string, string>>;
  readonly workdir: string;
  readonly readers: ReadonlyMap<string, EnvReader>;
  readonly envReads: ReadonlySet<string>;
  readonly config: Config | undefined;
  readonly args: ServiceArgs | undefined;
  /** The port it serves: gRPC (GRPC_PORT or the service's own) or HTTP (HTTP_PORT). */
  readonly port: number | undefined;
  /** Variables a reader refused. */
  readonly refused: readonly string[];
}

/** Every service built from the repository's Dockerfile, with its environment read by the code. */
export function containers(compose: ComposeFile, stages: readonly Stage[], facts: CodeFacts): Container[] {
  const out: Container[] = [];
  for (const s of compose.services.values()) {
    // A target the Dockerfile lacks is checkImages' to report.
    if (s.build === undefined || !stages.some((x) => x.name === targetOf(s, stages))) continue;
    const image = imageOf(stages, targetOf(s, stages));
    const env = { ...image.env, ...s.env };
    const workdir = image.workdir ?? '/';
    const serves = s.command[0] === 'serve' ? s.command[1] : undefined;
    const service = serves === undefined ? undefined : facts.byService.get(serves);
    const readers: ReadonlyMap<string, EnvReader> =
      service?.readers ?? new Map([['loadConfig', (e: NodeJS.ProcessEnv) => loadConfig(e)]]);
    const refused: string[] = [];
    const attempt = <T>(what: string, f: () => T): T | undefined => {
      try {
        return f();
      } catch (err) {
        refused.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      }
    };
    for (const [name, read] of readers) if (name !== 'parseServiceArgs') attempt(name, () => read(env));
    const config = attempt('loadConfig', () => loadConfig(env, { cwd: workdir }));
    const grpc = service?.grpc;
    const args =
      grpc === undefined
        ? undefined
        : attempt('parseServiceArgs', () => parseServiceArgs([], env, grpc, workdir));
    const port = args?.port ?? (service?.http === true ? config?.httpPort : undefined);
    out.push({
      service: s,
      serves,
      env,
      workdir,
      readers,
      envReads: service?.envReads ?? facts.cliEnvReads,
      config,
      args,
      port,
      refused,
    });
  }
  return out;
}

/** `host:port` of an address, or of a URL's authority. */
function hostPort(value: string): { host: string; port: number | undefined } | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      const u = new URL(value);
      return { host: u.hostname, port: u.port === '' ? undefined : Number(u.port) };
    } catch {
      return undefined;
    }
  }
  const m = /^([^\s:/]+):(\d{1,5})$/.exec(value);
  return m === null ? undefined : { host: m[1] ?? '', port: Number(m[2]) };
}

/** Default ports of the backends' URL schemes, for URLs that name none. */
const SCHEME_PORTS: Record<string, number> = {
  'redis:': 6379,
  'rediss:': 6379,
  'postgresql:': 5432,
  'postgres:': 5432,
};

/** The port a backend container listens on: `--port` in its command, else its image's usual one. */
function backendPort(s: ComposeService): number | undefined {
  const flag = s.command.indexOf('--port');
  if (flag >= 0) return Number(s.command[flag + 1]);
  if (s.image?.startsWith('redis')) return 6379;
  if (s.image?.startsWith('postgres')) return 5432;
  return undefined;
}

/** The command, its flags against the CLI's own, and every service of `alignda serve` deployed. */
export async function checkCommands(cs: readonly Container[], facts: CodeFacts): Promise<string[]> {
  const problems: string[] = [];
  // `world generate --seed 1`: the command path is the words before the first flag; their help, asked at once.
  const pathOf = (command: readonly string[]): string[] => {
    const first = command.findIndex((w) => w.startsWith('-'));
    return command.slice(0, first < 0 ? undefined : first);
  };
  const flagged = cs.filter(
    (c) => c.service.command.some((w) => w.startsWith('--')) && c.serves === undefined,
  );
  await Promise.all(flagged.map((c) => facts.flagsOf(pathOf(c.service.command))));
  for (const c of cs) {
    const [command, ...rest] = c.service.command;
    const name = c.service.name;
    if (command === undefined || !facts.commands.has(command)) {
      problems.push(`${name}: command ${JSON.stringify(command)} is not an alignda command`);
      continue;
    }
    if (command === 'serve') {
      if (c.serves === undefined || !facts.services.includes(c.serves))
        problems.push(
          `${name}: \`alignda serve ${c.serves}\` is not a service (${facts.services.join(', ')})`,
        );
      else if (c.serves !== name) problems.push(`${name}: runs \`serve ${c.serves}\` under another name`);
      continue;
    }
    const commandPath = pathOf(c.service.command);
    if (!rest.some((w) => w.startsWith('--'))) continue;
    const flags = await facts.flagsOf(commandPath);
    for (const word of rest.filter((w) => w.startsWith('--')))
      if (!flags.has(word.split('=')[0] ?? word))
        problems.push(`${name}: \`alignda ${commandPath.join(' ')}\` has no flag ${word}`);
  }
  const serving = new Set(cs.map((c) => c.serves));
  for (const s of facts.services)
    if (!serving.has(s)) problems.push(`no compose service runs \`serve ${s}\``);
  return problems;
}

/** Every variable is one the container's code reads, and the code accepts every value. */
export function checkEnvironment(cs: readonly Container[], facts: CodeFacts): string[] {
  const problems: string[] = [];
  for (const c of cs) {
    const who = c.serves === undefined ? `the CLI (${c.service.command[0]})` : `services/${c.serves}`;
    for (const name of Object.keys(c.service.env)) {
      if (!facts.knownEnv.has(name)) problems.push(`${c.service.name}: ${name} is read by no code (a typo?)`);
      else if (!c.envReads.has(name)) problems.push(`${c.service.name}: ${name} is not read by ${who}`);
    }
    for (const r of c.refused) problems.push(`${c.service.name}: the code refuses its environment: ${r}`);
  }
  return problems;
}

/** Served ports against published ports, healthchecks and every address that names the service. */
export function checkPorts(cs: readonly Container[], compose: ComposeFile): string[] {
  const problems: string[] = [];
  const byName = new Map(cs.map((c) => [c.service.name, c]));
  for (const c of cs) {
    const name = c.service.name;
    for (const p of c.service.ports) {
      if (p.container !== c.port)
        problems.push(`${name}: publishes container port ${p.container}, serves ${c.port}`);
      if (p.ip !== '127.0.0.1') problems.push(`${name}: publishes port ${p.container} beyond 127.0.0.1`);
    }
    if (c.serves === undefined) continue;
    const hc = c.service.healthcheck;
    const target = hc?.[0] === 'alignda-health' ? hc[1] : undefined;
    const probe = target === undefined ? undefined : hostPort(target);
    if (probe === undefined) problems.push(`${name}: no \`alignda-health <host:port | url>\` healthcheck`);
    else if (probe.port !== c.port || !['127.0.0.1', 'localhost'].includes(probe.host))
      problems.push(`${name}: healthcheck probes ${target}, the service serves 127.0.0.1:${c.port}`);
  }
  // Addresses: a variable of ADDRESS_VARIABLES names its own service, at the port that service serves.
  const serviceOfVariable = new Map(Object.entries(ADDRESS_VARIABLES).map(([svc, [v]]) => [v, svc]));
  for (const c of cs) {
    const readsAll = [...serviceOfVariable.keys()].every((v) => c.envReads.has(v));
    for (const [variable, svc] of serviceOfVariable) {
      const value = c.service.env[variable];
      if (value === undefined) {
        if (readsAll) problems.push(`${c.service.name}: ${variable} unset (it would call 127.0.0.1, itself)`);
        continue;
      }
      const at = hostPort(value);
      const target = byName.get(svc);
      if (at?.host !== svc || target === undefined)
        problems.push(`${c.service.name}: ${variable}=${value} is not the ${svc} service`);
      else if (at.port !== target.port)
        problems.push(`${c.service.name}: ${variable}=${value}, but ${svc} serves port ${target.port}`);
    }
  }
  // Backends: a URL naming a compose service names its port too.
  for (const c of cs)
    for (const variable of ['REDIS_URL', 'DATABASE_URL']) {
      const value = c.service.env[variable];
      const at = value === undefined ? undefined : hostPort(value);
      const backend = at === undefined ? undefined : compose.services.get(at.host);
      if (value === undefined || backend === undefined) continue;
      const port = at?.port ?? SCHEME_PORTS[new URL(value).protocol];
      if (port !== backendPort(backend))
        problems.push(
          `${c.service.name}: ${variable} names ${backend.name}:${port}, it listens on ${backendPort(backend)}`,
        );
    }
  return problems;
}

/** The services each names in its environment (URLs, addresses). */
function named(c: Container, compose: ComposeFile): string[] {
  return Object.values(c.service.env)
    .map((v) => hostPort(v)?.host)
    .filter((h): h is string => h !== undefined && compose.services.has(h));
}

/** What a service waits for, directly or through the services it waits for. */
function waitsFor(compose: ComposeFile, name: string): Set<string> {
  const seen = new Set<string>();
  const visit = (n: string): void => {
    for (const d of Object.keys(compose.services.get(n)?.dependsOn ?? {}))
      if (!seen.has(d)) {
        seen.add(d);
        visit(d);
      }
  };
  visit(name);
  return seen;
}

/** depends_on: real services, the right conditions, and every service a container uses or needs made first. */
export function checkDependencies(
  cs: readonly Container[],
  compose: ComposeFile,
  facts: CodeFacts,
): string[] {
  const problems: string[] = [];
  for (const s of compose.services.values())
    for (const [dep, condition] of Object.entries(s.dependsOn)) {
      const d = compose.services.get(dep);
      if (d === undefined) problems.push(`${s.name}: depends on ${dep}, which is no service`);
      else if (d.restart === 'no' && condition !== 'service_completed_successfully')
        problems.push(
          `${s.name}: waits for one-shot ${dep} with ${condition}, not service_completed_successfully`,
        );
      else if (d.restart !== 'no' && d.healthcheck !== undefined && condition !== 'service_healthy')
        problems.push(`${s.name}: waits for ${dep} with ${condition}, not service_healthy`);
    }
  const runs = (command: string): string[] =>
    cs.filter((c) => c.service.command.join(' ').startsWith(command)).map((c) => c.service.name);
  const [migration] = runs('check');
  const worlds = runs('world generate');
  const models = runs('train');
  for (const c of cs) {
    const name = c.service.name;
    const waits = waitsFor(compose, name);
    for (const n of named(c, compose))
      if (!waits.has(n))
        problems.push(`${name}: uses ${n} (its environment names it) without depending on it`);
    const service = c.serves === undefined ? undefined : facts.byService.get(c.serves);
    if (service?.opensDatabase === true && (migration === undefined || !waits.has(migration)))
      problems.push(`${name}: opens the database without waiting for the migration (\`alignda check\`)`);
    for (const [variable, needed, does] of [
      ['REDIS_URL', service?.usesRedis, 'connects to Redis'],
      ['DATABASE_URL', service?.opensDatabase, 'opens the database'],
    ] as const) {
      const host = hostPort(c.service.env[variable] ?? '')?.host;
      if (needed === true && (host === undefined || !compose.services.has(host)))
        problems.push(`${name}: ${does} but ${variable} names no compose service`);
    }
    if (c.args?.modelDir !== undefined && !models.some((m) => waits.has(m)))
      problems.push(`${name}: loads ${c.args.modelDir} without waiting for \`alignda train\``);
    if ((c.args?.world !== undefined || c.args?.modelDir !== undefined) && !worlds.some((w) => waits.has(w)))
      problems.push(`${name}: reads the nature run without waiting for \`alignda world generate\``);
  }
  return problems;
}

/** The value of `--flag` in a command, or `fallback`. */
function flag(command: readonly string[], name: string, fallback?: string): string | undefined {
  const i = command.indexOf(name);
  return i < 0 ? fallback : command[i + 1];
}

/**
 * The one-shots make what the services read: the nature run of their seed and years where they look for it, the model
 * set in their model folder; every container shares ALIGNDA_HOME through one named volume.
 */
export function checkSetup(cs: readonly Container[], compose: ComposeFile): string[] {
  const problems: string[] = [];
  const homes = new Set(cs.map((c) => c.config?.homeDir));
  if (homes.size !== 1) problems.push(`ALIGNDA_HOME differs between containers: ${[...homes].join(', ')}`);
  const mounts = new Set<string>();
  for (const c of cs) {
    const mount = c.service.volumes.find((v) => v.target === c.config?.homeDir);
    if (mount === undefined || !compose.volumes.has(mount.source))
      problems.push(`${c.service.name}: no named volume at ALIGNDA_HOME ${c.config?.homeDir}`);
    else mounts.add(mount.source);
  }
  if (mounts.size > 1)
    problems.push(`ALIGNDA_HOME is mounted from several volumes: ${[...mounts].join(', ')}`);
  const home = cs[0]?.config?.homeDir ?? '';
  const world = cs.find((c) => c.service.command.join(' ').startsWith('world generate'));
  const train = cs.find((c) => c.service.command[0] === 'train');
  for (const c of cs) {
    if (c.args === undefined) continue;
    if (c.args.world !== undefined && world !== undefined) {
      const cmd = world.service.command;
      const out = path.resolve(world.workdir, flag(cmd, '--out') ?? '');
      if (out !== path.join(home, 'worlds'))
        problems.push(
          `${world.service.name}: writes the nature run to ${out}, the services read ${home}/worlds`,
        );
      // `world generate`'s defaults: seed 1, one year.
      const [seed, years] = [flag(cmd, '--seed', '1'), flag(cmd, '--years', '1')];
      const reads = `seed ${c.args.worldSeed}, ${c.args.worldYears} y`;
      if (Number(seed) !== c.args.worldSeed || Number(years) !== c.args.worldYears)
        problems.push(
          `${c.service.name}: reads the nature run of ${reads}; ${world.service.name} makes seed ${seed}, ${years} y`,
        );
    }
    if (c.args.modelDir !== undefined && train !== undefined) {
      const cmd = train.service.command;
      const dataset = flag(cmd, '--dataset');
      const source = dataset ?? flag(cmd, '--world', 'qg') ?? 'qg';
      const background =
        flag(cmd, '--background') ?? defaultBackground({ kind: dataset === undefined ? 'world' : 'dataset' });
      const made = path.resolve(
        train.workdir,
        flag(cmd, '--out') ??
          path.join(home, 'models', modelSetName(source, flag(cmd, '--preset', 'ci') ?? 'ci', background)),
      );
      if (made !== c.args.modelDir)
        problems.push(
          `${c.service.name}: loads ${c.args.modelDir}; ${train.service.name} trains into ${made}`,
        );
    }
  }
  return problems;
}

/** Redis keeps the queues: AOF on, fsync every second. */
export function checkRedis(compose: ComposeFile): string[] {
  const redis = [...compose.services.values()].find((s) => s.image?.startsWith('redis'));
  if (redis === undefined) return ['no redis service'];
  const problems: string[] = [];
  if (flag(redis.command, '--appendonly') !== 'yes') problems.push('redis: --appendonly is not yes');
  if (flag(redis.command, '--appendfsync') !== 'everysec')
    problems.push('redis: --appendfsync is not everysec');
  return problems;
}

/** Replicas: at least two samplers, and nothing that stops `--scale` (a fixed host port, a container name). */
export function checkScaling(compose: ComposeFile, scaled: string): string[] {
  const problems: string[] = [];
  const s = compose.services.get(scaled);
  if (s === undefined || s.replicas < 2) problems.push(`${scaled}: fewer than 2 replicas (deploy.replicas)`);
  for (const x of compose.services.values())
    if (x.replicas > 1 || x.name === scaled) {
      if (x.containerName !== undefined) problems.push(`${x.name}: container_name stops --scale`);
      if (x.ports.some((p) => p.host !== '')) problems.push(`${x.name}: a fixed host port stops --scale`);
    }
  return problems;
}

/** Queue names in labels (`alignda.queue.*`) and in the comments (`` `name` queue ``) are the code's. */
export function checkQueues(compose: ComposeFile, text: string, queueNames: readonly string[]): string[] {
  const problems: string[] = [];
  for (const s of compose.services.values())
    for (const [label, value] of Object.entries(s.labels))
      if (label.startsWith('alignda.queue.'))
        for (const q of value.split(',').map((x) => x.trim()))
          if (!queueNames.includes(q))
            problems.push(`${s.name}: label ${label} names queue ${q}, not in QUEUE_NAMES`);
  for (const m of text.matchAll(/`([\w-]+)` queue/g))
    if (!queueNames.includes(m[1] ?? ''))
      problems.push(`a comment names queue \`${m[1]}\`, not in QUEUE_NAMES`);
  return problems;
}
