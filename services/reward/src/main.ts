/**
 * The reward service process: configuration, logger, the dataset's source and its train-period normalisation, the
 * forecast service's address, listen, and a graceful drain on SIGTERM.
 * `node --import tsx services/reward/src/main.ts --dataset ncep-air [--forecast-address host:50053] [--port 50054]`.
 */
import { formatStartupError, loadConfig } from '@alignda/config';
import { exitStatusOf } from '@alignda/errors';
import { createLogger } from '@alignda/log';
import { balanceSpec } from '@alignda/pipelines';
import { drainOnSignals, parseServiceArgs, serviceSourceChoice } from '@alignda/rpc';
import { fitNormStats } from '@alignda/tensor';
import { openSource } from '@alignda/world';

import { grpcForecastPort } from './adapters/forecast-client.js';
import { REWARD_PORT, buildApp } from './app.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const args = parseServiceArgs(process.argv.slice(2), process.env, { defaultPort: REWARD_PORT });
  const log = createLogger({ service: 'reward', level: config.logLevel });
  const source = await openSource(config, serviceSourceChoice(args));
  // The per-channel std the models normalise with: every train-period state over the valid cells (nn's fitTrainNorm).
  const [lo, hi] = source.periods.train;
  const size = source.shape[0] * source.shape[1] * source.shape[2];
  const stack = new Float32Array((hi - lo) * size);
  for (let i = lo; i < hi; i++) stack.set(source.state(i).data, (i - lo) * size);
  const { std } = fitNormStats(
    { data: stack, shape: [hi - lo, ...source.shape] },
    { channels: source.channels, ...(source.validMask === undefined ? {} : { mask: source.validMask }) },
  );
  const forecast = args.forecastAddress === undefined ? undefined : grpcForecastPort(args.forecastAddress);
  const app = buildApp({
    dataset: { ...source, name: source.name, std, balance: balanceSpec(source, std) },
    ...(forecast === undefined ? {} : { forecast: forecast.port }),
    log,
  });
  const service = await app.listen({ host: args.host, port: args.port });
  drainOnSignals(service, { log, graceMs: args.drainGraceMs });
  log.info(
    { address: service.address, dataset: source.name, forecast: args.forecastAddress ?? null },
    'serving',
  );
}

main().catch((err: unknown) => {
  console.error(formatStartupError(err));
  process.exit(exitStatusOf(err));
});
