/**
 * The fuzz run: for each target (the gateway over HTTP, each gRPC service) `cases` generated bad requests sent one at
 * a time, every answer judged (a clear 4xx problem+json or INVALID_ARGUMENT, or a code its fault justifies), a crashed
 * process noted and started again, and the first failing case of a target replayed by fast-check from its seed and
 * path and shrunk to a small counterexample. The tallies make the table `npm run fuzz` prints.
 */
import type { Client } from '@grpc/grpc-js';
import { Metadata, status } from '@grpc/grpc-js';
import fc from 'fast-check';

import { gatewayRequests } from '../../services/gateway/src/fuzz-requests.js';
import type { FuzzRequest } from '../../services/gateway/src/fuzz-requests.js';
import type { FuzzStack } from './fuzz-stack.js';
import { rawGrpcClient } from './fuzz-stack.js';
import { GRPC_TARGETS, grpcCases } from './grpc-cases.js';
import type { GrpcCase } from './wire-cases.js';

/** The targets: the gateway, then the gRPC services. */
export const FUZZ_TARGETS = ['gateway', ...GRPC_TARGETS] as const;
/** One of {@link FUZZ_TARGETS}. */
export type FuzzTarget = (typeof FUZZ_TARGETS)[number];

/**
 * How an answer is judged: `refused` (a clear 4xx problem+json or INVALID_ARGUMENT), `justified` (another code, or
 * OK, that the case names as right for its fault, with why), `accepted` (2xx, or OK: right for an HTTP request that
 * happened to be valid, a failure for a bad gRPC message), `crash` (the process exited), `5xx`, `code` (another gRPC
 * code), `unclear` (a 4xx that is no problem+json, an empty status message, no answer).
 */
export type Verdict = 'refused' | 'justified' | 'accepted' | 'crash' | '5xx' | 'code' | 'unclear';

/** The answer to one case. */
export interface Answer {
  readonly verdict: Verdict;
  /** `HTTP 400 application/problem+json`, `INVALID_ARGUMENT: fields[0]...`. */
  readonly summary: string;
}

/** What a target's run counted. */
export interface TargetTally {
  readonly target: FuzzTarget;
  cases: number;
  readonly verdicts: Record<Verdict, number>;
  /** Justified answers by `CODE: reason`, each with its count and reason. */
  readonly justified: Map<string, { count: number; why: string }>;
  /** The first few failing cases as sent (fault and answer), before shrinking. */
  readonly failed: string[];
  /** The first failing case, shrunk: what it was, what it got, and how to replay it. */
  counterexample?: { readonly what: string; readonly answer: string; readonly replay: string };
}

/** A judged answer; failures are what the figures ask to be 0. */
export const isFailure = (target: FuzzTarget, a: Answer): boolean =>
  a.verdict !== 'refused' && a.verdict !== 'justified' && !(a.verdict === 'accepted' && target === 'gateway');

/** Sends one HTTP request and judges the answer. */
async function sendHttp(base: string, r: FuzzRequest, timeoutMs: number): Promise<Answer> {
  let res: Response;
  try {
    res = await fetch(`${base}${r.path}`, {
      method: r.method,
      headers: r.headers,
      ...(r.body === undefined ? {} : { body: r.body }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    return { verdict: 'unclear', summary: `no answer: ${err instanceof Error ? err.message : String(err)}` };
  }
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  const summary = `HTTP ${res.status} ${type}: ${text.slice(0, 200)}`;
  if (res.status >= 500) return { verdict: '5xx', summary };
  if (res.status < 400) return { verdict: 'accepted', summary };
  if (!type.startsWith('application/problem+json')) return { verdict: 'unclear', summary };
  try {
    const p = JSON.parse(text) as Record<string, unknown>;
    const clear =
      typeof p.type === 'string' &&
      typeof p.title === 'string' &&
      p.status === res.status &&
      typeof p.detail === 'string' &&
      p.detail.length > 0;
    return { verdict: clear ? 'refused' : 'unclear', summary };
  } catch {
    return { verdict: 'unclear', summary };
  }
}

const passthrough = (b: Buffer): Buffer => b;

/** Sends one gRPC case through a raw client and returns its final status. */
function callGrpc(
  client: Client,
  c: GrpcCase,
  timeoutMs: number,
): Promise<{ code: status; details: string }> {
  const deadline = new Date(Date.now() + timeoutMs);
  return new Promise((resolve) => {
    if (!c.streaming) {
      client.makeUnaryRequest(
        c.path,
        passthrough,
        passthrough,
        c.bytes,
        new Metadata(),
        { deadline },
        (err) =>
          resolve(err === null ? { code: status.OK, details: '' } : { code: err.code, details: err.details }),
      );
      return;
    }
    const call = client.makeServerStreamRequest(c.path, passthrough, passthrough, c.bytes, new Metadata(), {
      deadline,
    });
    call.on('data', () => undefined);
    call.on('error', () => undefined);
    call.on('status', (s: { code: status; details: string }) =>
      resolve({ code: s.code, details: s.details }),
    );
  });
}

/** Judges a gRPC status for a case. */
function judgeGrpc(c: GrpcCase, s: { code: status; details: string }): Answer {
  const name = status[s.code] ?? String(s.code);
  const summary = `${name}: ${s.details.slice(0, 300)}`;
  const allowed = c.allowed.some((a) => a.code === s.code);
  if (s.code === status.OK) return { verdict: allowed ? 'justified' : 'accepted', summary };
  const clear = s.details.trim() !== '' && !s.details.startsWith('internal error');
  if (s.code === status.INVALID_ARGUMENT) return { verdict: clear ? 'refused' : 'unclear', summary };
  if (allowed) return { verdict: clear ? 'justified' : 'unclear', summary };
  return { verdict: 'code', summary };
}

/** Options of {@link fuzzTarget}. */
export interface FuzzTargetOptions {
  readonly cases: number;
  readonly seed: number;
  /** Deadline of one request, ms. @defaultValue 15000 */
  readonly timeoutMs?: number;
  /** Most candidates tried while shrinking a counterexample. @defaultValue 150 */
  readonly maxShrinks?: number;
  /** The run stops sending after this long, ms (the tally then counts fewer cases). @defaultValue 900000 */
  readonly timeLimitMs?: number;
}

/** One case, sent and judged against the stack as it is now (crashes noted, the process started again). */
type Send<T> = (value: T) => Promise<Answer>;

/** The arbitrary, sender and describer of a target. */
interface TargetPlan<T> {
  readonly arbitrary: fc.Arbitrary<T>;
  readonly send: Send<T>;
  readonly describe: (value: T) => string;
}

/** Wraps a sender so that a case after which the process is gone counts as a crash, and the process comes back. */
function crashAware<T>(stack: FuzzStack, target: FuzzTarget, send: Send<T>): Send<T> {
  return async (value) => {
    const answer = await send(value);
    if (stack.process(target).alive()) return answer;
    const output = stack.process(target).output();
    await stack.restart(target);
    return {
      verdict: 'crash',
      summary: `the ${target} process exited (${answer.summary}); its output ends:\n${output}`,
    };
  };
}

function planOf(stack: FuzzStack, target: FuzzTarget, timeoutMs: number): TargetPlan<unknown> {
  if (target === 'gateway') {
    const plan: TargetPlan<FuzzRequest> = {
      arbitrary: gatewayRequests(stack.keys),
      send: crashAware(stack, target, (r) => sendHttp(stack.process('gateway').address, r, timeoutMs)),
      describe: (r) =>
        `${r.method} ${r.path} headers ${JSON.stringify(r.headers)}${r.body === undefined ? '' : ` body ${JSON.stringify(r.body)}`}`,
    };
    return plan as TargetPlan<unknown>;
  }
  let client: { address: string; client: Client } | undefined;
  const clientOf = (address: string): Client => {
    if (client?.address !== address) {
      client?.client.close();
      client = { address, client: rawGrpcClient(address) };
    }
    return client.client;
  };
  const plan: TargetPlan<GrpcCase> = {
    arbitrary: grpcCases(target, { model: stack.model, datasetId: stack.datasetId }),
    send: crashAware(stack, target, async (c) =>
      judgeGrpc(c, await callGrpc(clientOf(stack.process(target).address), c, timeoutMs)),
    ),
    describe: (c) =>
      `${c.path}: ${c.fault} (${c.bytes.length} bytes${c.bytes.length <= 64 ? `: ${c.bytes.toString('hex')}` : ''})`,
  };
  return plan as TargetPlan<unknown>;
}

const emptyVerdicts = (): Record<Verdict, number> => ({
  refused: 0,
  justified: 0,
  accepted: 0,
  crash: 0,
  '5xx': 0,
  code: 0,
  unclear: 0,
});

/**
 * Sends `cases` generated bad requests to one target and tallies the answers; the first failure is replayed from its
 * fast-check path and shrunk (at most `maxShrinks` candidates) into the tally's counterexample.
 */
export async function fuzzTarget(
  stack: FuzzStack,
  target: FuzzTarget,
  options: FuzzTargetOptions,
): Promise<TargetTally> {
  const plan = planOf(stack, target, options.timeoutMs ?? 15_000);
  const tally: TargetTally = {
    target,
    cases: 0,
    verdicts: emptyVerdicts(),
    justified: new Map(),
    failed: [],
  };
  let firstFailure: number | undefined;
  // The sweep: every case sent and judged; the property never fails, so fast-check runs them all.
  await fc.assert(
    fc.asyncProperty(plan.arbitrary, async (value) => {
      const answer = await plan.send(value);
      tally.verdicts[answer.verdict]++;
      if (answer.verdict === 'justified') {
        const code = answer.summary.split(':')[0] ?? '';
        const why = (value as Partial<GrpcCase>).allowed?.find((a) => status[a.code] === code)?.why ?? '';
        const key = `${code}: ${why}`;
        const j = tally.justified.get(key) ?? { count: 0, why };
        tally.justified.set(key, { count: j.count + 1, why });
      }
      if (isFailure(target, answer)) {
        firstFailure ??= tally.cases;
        if (tally.failed.length < 5) tally.failed.push(`${plan.describe(value)} -> ${answer.summary}`);
      }
      tally.cases++;
    }),
    {
      numRuns: options.cases,
      seed: options.seed,
      interruptAfterTimeLimit: options.timeLimitMs ?? 900_000,
      markInterruptAsFailure: false,
    },
  );
  if (firstFailure === undefined) return tally;

  // The replay: fast-check regenerates the failing case from the seed and its index, then shrinks it.
  let tried = 0;
  let last: Answer | undefined;
  const details = await fc.check(
    fc.asyncProperty(plan.arbitrary, async (value) => {
      if (tried++ > (options.maxShrinks ?? 150)) return true;
      const answer = await plan.send(value);
      if (!isFailure(target, answer)) return true;
      last = answer;
      return false;
    }),
    { seed: options.seed, path: String(firstFailure), numRuns: 1 },
  );
  const example = details.counterexample?.[0];
  tally.counterexample = {
    what: example === undefined ? `(case ${firstFailure} did not fail again)` : plan.describe(example),
    answer: last?.summary ?? '',
    replay: `--seed ${options.seed} (${target}: fast-check path ${details.counterexamplePath ?? String(firstFailure)})`,
  };
  return tally;
}

/** Splits `total` cases over the targets as evenly as whole numbers allow. */
export function casesPerTarget(total: number): Map<FuzzTarget, number> {
  const n = FUZZ_TARGETS.length;
  return new Map(FUZZ_TARGETS.map((t, i) => [t, Math.floor(total / n) + (i < total % n ? 1 : 0)]));
}

/** Runs every target at once (each one case at a time) and returns the tallies in {@link FUZZ_TARGETS} order. */
export async function fuzzAll(
  stack: FuzzStack,
  options: Omit<FuzzTargetOptions, 'cases'> & { readonly cases: number },
): Promise<TargetTally[]> {
  const split = casesPerTarget(options.cases);
  // Every target's run ends before this returns or throws: the caller closes the stack after it, and a target still
  // sending then would meet its process gone.
  const settled = await Promise.allSettled(
    FUZZ_TARGETS.map((target) => fuzzTarget(stack, target, { ...options, cases: split.get(target) ?? 0 })),
  );
  return settled.map((r) => {
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  });
}

/** The failures of a tally (what the figures ask to be 0). */
export function failures(t: TargetTally): number {
  const v = t.verdicts;
  return v.crash + v['5xx'] + v.code + v.unclear + (t.target === 'gateway' ? 0 : v.accepted);
}

/** The table `npm run fuzz` prints, one row per target and a total. */
export function formatTable(tallies: readonly TargetTally[]): string {
  const head = [
    'target',
    'cases',
    '4xx / INVALID_ARGUMENT',
    'justified',
    'accepted',
    'crashes',
    '5xx',
    'other codes',
    'not clear',
    'failures',
  ];
  const rows: (string | number)[][] = tallies.map((t) => [
    t.target,
    t.cases,
    t.verdicts.refused,
    t.verdicts.justified,
    t.verdicts.accepted,
    t.verdicts.crash,
    t.verdicts['5xx'],
    t.verdicts.code,
    t.verdicts.unclear,
    failures(t),
  ]);
  const sum = (i: number): number => rows.reduce((a, r) => a + Number(r[i]), 0);
  rows.push(['total', ...head.slice(1).map((_, i) => sum(i + 1))]);
  const cells = [head, ...rows].map((r) => r.map(String));
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [
    line(cells[0] ?? []),
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...cells.slice(1).map(line),
  ].join('\n');
}
