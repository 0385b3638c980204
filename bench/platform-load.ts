/**
 * The gateway's POST latency under a fixed request rate (bench/platform.ts, part 3): autocannon in this process, every
 * response's status and time recorded here (exact percentiles over all responses, rather than autocannon's histogram,
 * whose coordinated-omission correction under a rate limit adds synthetic values at 1 ms spacing).
 *
 * autocannon limits the rate per connection and per second: each of the `connections` sends its share of the rate
 * (rate / connections a second) back to back as answers come, then waits for the next second. Arrivals therefore come
 * in bursts of up to `connections` concurrent requests at the top of each second, a harder load than a steady stream
 * at the same rate.
 */
import autocannon from 'autocannon';

/** What a load run is asked to do. */
export interface LoadOptions {
  readonly url: string;
  readonly token: string;
  readonly body: string;
  /** Sent as x-correlation-id on every request: the Job rows of the run carry it (and are deleted by it). */
  readonly correlationId: string;
  /** Requests a second, all connections together. */
  readonly rate: number;
  readonly connections: number;
  readonly durationS: number;
  /** Called about once a second with the seconds and requests done. */
  readonly onTick?: (seconds: number, requests: number) => void;
}

/** What a load run measured. */
export interface LoadResult {
  readonly durationS: number;
  /** Responses by HTTP status. */
  readonly statuses: ReadonlyMap<number, number>;
  readonly responses: number;
  /** Connection errors (timeouts included) and timeouts alone, as autocannon counts them. */
  readonly errors: number;
  readonly timeouts: number;
  /** Latency percentiles of every response, ms. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** The value at quantile `q` of sorted values (nearest rank); NaN when there are none. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/** POSTs `body` to /v1/assimilations at `rate` a second for `durationS` seconds; see the module comment. */
export async function postLoad(o: LoadOptions): Promise<LoadResult> {
  const times: number[] = [];
  const statuses = new Map<number, number>();
  let seconds = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${o.url}/v1/assimilations`,
        method: 'POST',
        headers: {
          authorization: `Bearer ${o.token}`,
          'content-type': 'application/json',
          'x-correlation-id': o.correlationId,
        },
        body: o.body,
        connections: o.connections,
        overallRate: o.rate,
        duration: o.durationS,
        timeout: 10,
      },
      (err: unknown, res: autocannon.Result) => {
        if (err === null || err === undefined) resolve(res);
        else reject(err instanceof Error ? err : new Error('autocannon failed', { cause: err }));
      },
    );
    // autocannon emits (client, statusCode, resBytes, responseTime); @types/autocannon leaves out the client.
    (instance as unknown as NodeJS.EventEmitter).on(
      'response',
      (_client: unknown, status: number, _bytes: number, ms: number) => {
        times.push(ms);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      },
    );
    instance.on('tick', () => o.onTick?.(++seconds, times.length));
  });
  const sorted = [...times].sort((a, b) => a - b);
  return {
    durationS: result.duration,
    statuses,
    responses: times.length,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.reduce((a, v) => a + v, 0) / Math.max(1, sorted.length),
  };
}
