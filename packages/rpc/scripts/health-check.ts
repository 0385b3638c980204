/**
 * A container health probe (docker-compose.yml's healthchecks run it through the image's `alignda-health`):
 *
 *   node --import tsx packages/rpc/scripts/health-check.ts 127.0.0.1:50052             # grpc.health.v1 Check
 *   node --import tsx packages/rpc/scripts/health-check.ts http://127.0.0.1:8080/readyz # HTTP 200
 *
 * A `host:port` target is asked about the whole server (service `''`) and is healthy when it answers SERVING; a URL
 * is healthy when it answers 200. Exit status 0 when healthy, 1 with one line saying why otherwise (Docker keeps that
 * line in `docker inspect`), 64 for a missing or malformed target. It loads only the health client, so a probe costs
 * a fraction of a second.
 */
import { checkHealth } from '../src/health-client.js';

/** How long one probe may take, ms: under compose's `timeout` (5 s) so that the line above is what Docker keeps. */
const DEADLINE_MS = 3000;

/** Why `target` is not healthy, or null when it is. */
async function probe(target: string): Promise<string | null> {
  if (/^https?:\/\//.test(target)) {
    const response = await fetch(target, { signal: AbortSignal.timeout(DEADLINE_MS) });
    return response.status === 200 ? null : `${target} answered HTTP ${response.status}`;
  }
  const status = await checkHealth(target, '', { deadlineMs: DEADLINE_MS });
  return status === 'SERVING' ? null : `${target} answered ${status}`;
}

const target = process.argv[2];
if (target === undefined || !(/^https?:\/\//.test(target) || /^[^\s/]+:\d{1,5}$/.test(target))) {
  console.error('usage: health-check.ts <host:port> | <http://host:port/path>');
  process.exit(64);
}
try {
  const problem = await probe(target);
  if (problem !== null) {
    console.error(`unhealthy: ${problem}`);
    process.exit(1);
  }
} catch (err) {
  console.error(`unhealthy: ${target}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
