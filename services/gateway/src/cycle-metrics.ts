/**
 * The cycles' gauges, read from the Cycle rows at each scrape (the rows are the record; the cycle service has no
 * HTTP port): `alignda_cycle_lag_seconds{cycle}`, how long a running wall-clock cycle's next step is overdue (0 when
 * on time; simulated-time cycles run as fast as they can and have no clock to lag), and
 * `alignda_cycle_diverged{cycle}`, 1 when a method's analysis passed the climatological threshold at the latest
 * step. infra/prometheus's alert rules read these names.
 */
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Db } from '@alignda/db';
import type { Logger } from '@alignda/log';

/** Registers both gauges in `registry`. */
export function registerCycleGauges(registry: Registry, db: Db, logger: Logger): void {
  // One read of the rows sets both gauges: the registry collects its metrics concurrently, so both collects await
  // the same read.
  const read = async (): Promise<void> => {
    lag.reset();
    diverged.reset();
    try {
      const rows = await db.cycle.findMany({
        where: { status: { in: ['running', 'paused'] } },
        select: { name: true, status: true, stats: true },
        take: 1000,
      });
      const now = Date.now();
      for (const r of rows) {
        const stats = (r.stats ?? {}) as {
          dueAt?: string;
          latest?: { methods?: Record<string, { diverged?: boolean }> };
        };
        const due = stats.dueAt === undefined ? Number.NaN : Date.parse(stats.dueAt);
        if (r.status === 'running' && Number.isFinite(due))
          lag.set({ cycle: r.name }, Math.max(0, (now - due) / 1000));
        const methods = Object.values(stats.latest?.methods ?? {});
        diverged.set({ cycle: r.name }, methods.some((m) => m.diverged === true) ? 1 : 0);
      }
    } catch (err) {
      logger.warn({ err }, 'cycle gauges not read');
    }
  };
  let inflight: Promise<void> | undefined;
  const refresh = (): Promise<void> =>
    (inflight ??= read().finally(() => {
      inflight = undefined;
    }));
  const lag: Gauge<'cycle'> = new Gauge({
    name: 'alignda_cycle_lag_seconds',
    help: "Seconds a running wall-clock cycle's next step is overdue (0 when on time)",
    labelNames: ['cycle'] as const,
    registers: [registry],
    collect: refresh,
  });
  const diverged = new Gauge({
    name: 'alignda_cycle_diverged',
    help: "1 when a method's analysis diverged (RMSE past the climatological threshold) at the cycle's latest step",
    labelNames: ['cycle'] as const,
    registers: [registry],
    collect: refresh,
  });
}
