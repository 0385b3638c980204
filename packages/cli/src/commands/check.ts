import type { Command } from 'commander';
import { CONFIG_VARIABLES, loadConfig } from '@alignda/config';
import { openDatabase } from '@alignda/db';
import { redactSecrets } from '@alignda/log';
import { probeRedis } from '@alignda/queue';

/**
 * Registers `alignda check`: validates the configuration and reaches the database (applying pending
 * migrations) and Redis, printing one line each. Any failure stops with one line naming the variable.
 */
export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('validate the configuration and reach the database and Redis')
    .option('--no-redis', 'do not probe Redis (embedded runs without queues)')
    .action(async (opts: { redis: boolean }) => {
      const config = loadConfig();
      for (const v of CONFIG_VARIABLES)
        console.log(`  ${v.name.padEnd(34)} ${redactSecrets(String(config[v.key]))}`);
      const db = await openDatabase(config);
      await db.$disconnect();
      console.log(`ok database (${config.databaseProvider}): migrations applied`);
      if (opts.redis) {
        await probeRedis(config.redisUrl, config.startupProbeTimeoutMs);
        console.log('ok redis: PING answered');
      }
    });
}
