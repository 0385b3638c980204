/**
 * A small reader of the Dockerfile for tests/deploy: its stages and, for a build target, what the image gets from the
 * chain of stages it is built `FROM` (environment, user, working directory, entrypoint and command). It reads the
 * instructions the root Dockerfile uses, not every corner of the syntax: continuation lines, comments, `ARG` before
 * the first `FROM`, `FROM image AS name`, `ENV k=v ...` and the JSON forms of ENTRYPOINT and CMD.
 */

/** One instruction: its keyword (upper case) and the rest of the line, continuations joined. */
export interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** One build stage. */
export interface Stage {
  readonly name: string;
  /** What it is built on: an image, or another stage's name. */
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

/** What an image built for a target has, through the stages it is built on. */
export interface Image {
  /** The target and the stages it is built on, the target first. */
  readonly chain: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** The last USER, if any. */
  readonly user: string | undefined;
  readonly workdir: string | undefined;
  readonly entrypoint: readonly string[] | undefined;
  readonly cmd: readonly string[] | undefined;
  /** Every instruction of the chain, the base stage's first. */
  readonly instructions: readonly Instruction[];
}

/** The `ARG name=default` lines before the first FROM (the build arguments FROM lines may use). */
export function globalArgs(text: string): Record<string, string> {
  const head = text.split(/^FROM\s/m)[0] ?? '';
  return Object.fromEntries(
    [...head.matchAll(/^ARG\s+([A-Za-z_]\w*)=(\S*)\s*$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
  );
}

/** `target` and every stage it is built on or copies from (`COPY --from=<stage>`), transitively. */
export function stagesUsedBy(stages: readonly Stage[], target: string): Set<string> {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const used = new Set<string>();
  const visit = (name: string): void => {
    const s = byName.get(name);
    if (s === undefined || used.has(name)) return;
    used.add(name);
    visit(s.from);
    for (const i of s.instructions)
      if (i.keyword === 'COPY') for (const m of i.args.matchAll(/--from=(\S+)/g)) visit(m[1] ?? '');
  };
  visit(target);
  return used;
}

/** The stages of a Dockerfile's text, in order. */
export function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (pending !== '' && line.startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    lines.push(`${pending}${line}`.trim());
    pending = '';
  }
  const stages: { name: string; from: string; instructions: Instruction[] }[] = [];
  for (const line of lines) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    if (match === null) continue;
    const keyword = (match[1] ?? '').toUpperCase();
    const args = match[2] ?? '';
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (from === null) throw new Error(`unreadable FROM: ${line}`);
      stages.push({ name: from[2] ?? String(stages.length), from: from[1] ?? '', instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword, args });
    }
  }
  return stages;
}

/** `ENV a=1 b="x y"` (or the old `ENV a 1`) as pairs. */
function envPairs(args: string): [string, string][] {
  const old = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=]*)$/.exec(args);
  if (old !== null) return [[old[1] ?? '', (old[2] ?? '').trim()]];
  const pairs: [string, string][] = [];
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g))
    pairs.push([m[1] ?? '', (m[2] ?? '').replace(/^"(.*)"$/, '$1')]);
  return pairs;
}

/** The JSON (exec) form of ENTRYPOINT / CMD; the shell form as `sh -c <line>`. */
function execForm(args: string): string[] {
  try {
    const parsed: unknown = JSON.parse(args);
    if (Array.isArray(parsed) && parsed.every((a) => typeof a === 'string')) return parsed;
  } catch {
    // the shell form
  }
  return ['/bin/sh', '-c', args];
}

/**
 * What an image built with `--target target` has.
 * @throws when the target is not a stage
 */
export function imageOf(stages: readonly Stage[], target: string): Image {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const chain: Stage[] = [];
  for (let s = byName.get(target); s !== undefined; s = byName.get(s.from)) {
    if (chain.includes(s)) throw new Error(`stage ${s.name} is built on itself`);
    chain.push(s);
  }
  if (chain.length === 0) throw new Error(`no stage ${target}`);
  const env: Record<string, string> = {};
  let user: string | undefined;
  let workdir: string | undefined;
  let entrypoint: string[] | undefined;
  let cmd: string[] | undefined;
  const instructions = [...chain].reverse().flatMap((s) => s.instructions);
  for (const { keyword, args } of instructions) {
    if (keyword === 'ENV') for (const [k, v] of envPairs(args)) env[k] = v;
    else if (keyword === 'USER') user = args.trim();
    else if (keyword === 'WORKDIR') workdir = args.trim();
    else if (keyword === 'ENTRYPOINT') {
      entrypoint = execForm(args);
      cmd = undefined; // a new ENTRYPOINT resets an inherited CMD
    } else if (keyword === 'CMD') cmd = execForm(args);
  }
  return { chain: chain.map((s) => s.name), env, user, workdir, entrypoint, cmd, instructions };
}
