import { API_KEY_SCOPES, parseApiKeyScopes } from '@alignda/db';
import type { ApiKeyScope } from '@alignda/db';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';

import { runKeysCreate, runKeysList, runKeysRevoke } from '../run/keys-run.js';

/** `--scopes submit,read`: a usage error naming the unknown scope. */
function scopesArg(v: string): ApiKeyScope[] {
  try {
    return parseApiKeyScopes(v);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

/**
 * Registers `alignda keys`: create (prints the token once), list and revoke the HTTP gateway's API keys in
 * the registry at DATABASE_URL.
 */
export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description("manage the HTTP gateway's API keys");
  keys
    .command('create')
    .description('create an API key and print its token (shown only once)')
    .requiredOption('--name <name>', 'a name for the key, e.g. the client or person using it')
    .requiredOption(
      '--scopes <list>',
      `comma-separated scopes: ${API_KEY_SCOPES.join(', ')} (admin grants every scope)`,
      scopesArg,
    )
    .option('--exempt', "exempt the key from the gateway's per-key rate limit (for the bench)", false)
    .action(async (opts: { name: string; scopes: ApiKeyScope[]; exempt: boolean }) => {
      await runKeysCreate(opts);
    });
  keys
    .command('list')
    .description('list the API keys, revoked ones included (never their tokens)')
    .action(async () => {
      await runKeysList();
    });
  keys
    .command('revoke')
    .description('revoke an API key: the gateway refuses it from its next request')
    .argument('<id>', 'the key id (from alignda keys list)')
    .action(async (id: string) => {
      await runKeysRevoke(id);
    });
}
