/**
 * docker-compose files as the checks of tests/deploy read them: parsed with the `yaml` package (merge keys on, as
 * Compose reads them), overrides merged as `docker compose -f a -f b` merges them (mappings key by key, the rest
 * replaced), `${VAR:-default}` interpolated with the default, and each service's short and long syntaxes brought to one
 * shape.
 */
import { parse } from 'yaml';

/** One service, normalised. */
export interface ComposeService {
  readonly name: string;
  readonly image: string | undefined;
  /** Built from the repository's Dockerfile when set. */
  readonly build: { readonly context: string; readonly target: string | undefined } | undefined;
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Published ports: host ip (empty: every interface), host port, container port. */
  readonly ports: readonly { readonly ip: string; readonly host: string; readonly container: number }[];
  /** Volume mounts: source (a named volume or a path) and target. */
  readonly volumes: readonly { readonly source: string; readonly target: string }[];
  /** The healthcheck's command (after CMD / CMD-SHELL), when there is one. */
  readonly healthcheck: readonly string[] | undefined;
  readonly dependsOn: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly replicas: number;
  readonly restart: string | undefined;
  readonly containerName: string | undefined;
  /** deploy.resources.reservations.devices. */
  readonly devices: readonly Record<string, unknown>[];
}

/** A compose file, normalised. */
export interface ComposeFile {
  readonly services: ReadonlyMap<string, ComposeService>;
  readonly volumes: ReadonlySet<string>;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a compose file's text into plain data (merge keys resolved). */
export function parseComposeText(text: string): Obj {
  const data: unknown = parse(text, { merge: true });
  if (!isObj(data)) throw new Error('a compose file must be a mapping');
  return data;
}

/** `docker compose -f base -f override`: mappings merged key by key, everything else replaced. */
export function mergeCompose(base: unknown, override: unknown): unknown {
  if (!isObj(base) || !isObj(override)) return override;
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = k in base ? mergeCompose(base[k], v) : v;
  return out;
}

/** `${VAR:-default}` / `${VAR-default}` -> default (these checks assume an empty shell); `$$` -> `$`. */
export function interpolate(value: string): string {
  return value
    .replace(/\$\{([A-Za-z_]\w*)(?::?-([^}]*))?\}/g, (_m, name: string, fallback?: string) => {
      if (fallback === undefined) throw new Error(`\${${name}} has no default`);
      return fallback;
    })
    .replace(/\$\$/g, '$');
}

const str = (v: unknown): string => interpolate(typeof v === 'string' ? v : String(v));

/** `KEY: value` or `- KEY=value` as a record. */
function keyValues(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (Array.isArray(v))
    return Object.fromEntries(
      v.map((e) => {
        const [k, ...rest] = str(e).split('=');
        return [k ?? '', rest.join('=')];
      }),
    );
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === null ? '' : str(x)]));
  throw new Error(`not a mapping or list: ${JSON.stringify(v)}`);
}

/** A command as Compose runs it: a list as is, a string split at white space. */
function commandOf(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.map(str) : str(v).split(/\s+/).filter(Boolean);
}

/** `[ip:]host:container[/proto]` or the long syntax. */
function portOf(v: unknown): ComposeService['ports'][number] {
  if (isObj(v))
    return { ip: str(v.host_ip ?? ''), host: str(v.published ?? ''), container: Number(str(v.target)) };
  const parts = str(v)
    .replace(/\/\w+$/, '')
    .split(':');
  const container = Number(parts.pop());
  const host = parts.pop() ?? '';
  return { ip: parts.join(':'), host, container };
}

function volumeOf(v: unknown): ComposeService['volumes'][number] {
  if (isObj(v)) return { source: str(v.source ?? ''), target: str(v.target) };
  const [source = '', target = ''] = str(v).split(':');
  return { source, target };
}

function healthcheckOf(v: unknown): string[] | undefined {
  if (!isObj(v) || v.disable === true || v.test === undefined) return undefined;
  const test = v.test;
  if (typeof test === 'string') return ['/bin/sh', '-c', str(test)];
  const [kind, ...rest] = commandOf(test);
  if (kind === 'NONE') return undefined;
  return kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : rest;
}

function dependsOnOf(v: unknown): Record<string, string> {
  if (Array.isArray(v)) return Object.fromEntries(v.map((s) => [str(s), 'service_started']));
  if (isObj(v))
    return Object.fromEntries(
      Object.entries(v).map(([k, d]) => [
        k,
        isObj(d) ? str(d.condition ?? 'service_started') : 'service_started',
      ]),
    );
  return {};
}

function serviceOf(name: string, s: Obj): ComposeService {
  const build = s.build === undefined ? undefined : isObj(s.build) ? s.build : { context: s.build };
  const deploy = isObj(s.deploy) ? s.deploy : {};
  const resources = isObj(deploy.resources) ? deploy.resources : {};
  const reservations = isObj(resources.reservations) ? resources.reservations : {};
  return {
    name,
    image: s.image === undefined ? undefined : str(s.image),
    build:
      build === undefined
        ? undefined
        : {
            context: str(build.context ?? '.'),
            target: build.target === undefined ? undefined : str(build.target),
          },
    command: commandOf(s.command),
    env: keyValues(s.environment),
    ports: Array.isArray(s.ports) ? s.ports.map(portOf) : [],
    volumes: Array.isArray(s.volumes) ? s.volumes.map(volumeOf) : [],
    healthcheck: healthcheckOf(s.healthcheck),
    dependsOn: dependsOnOf(s.depends_on),
    labels: keyValues(s.labels),
    replicas: deploy.replicas === undefined ? 1 : Number(deploy.replicas),
    restart: s.restart === undefined ? undefined : str(s.restart),
    containerName: s.container_name === undefined ? undefined : str(s.container_name),
    devices: Array.isArray(reservations.devices) ? reservations.devices.filter(isObj) : [],
  };
}

/** Normalises parsed (and merged) compose data. */
export function composeFile(data: unknown): ComposeFile {
  if (!isObj(data) || !isObj(data.services)) throw new Error('a compose file needs a services mapping');
  const services = new Map(
    Object.entries(data.services).map(([name, s]) => {
      if (!isObj(s)) throw new Error(`service ${name} is not a mapping`);
      return [name, serviceOf(name, s)];
    }),
  );
  return { services, volumes: new Set(isObj(data.volumes) ? Object.keys(data.volumes) : []) };
}
