import { AppError } from '@alignda/errors';

/**
 * The model version a request is served with: the service's own when the request leaves it empty or names it.
 * @param requested - the request's `model_version` ('' = the active model)
 * @param served - the version this process holds
 * @param kind - what the model is, for the message (`autoencoder`, `score model`, `forecast model`)
 * @throws AppError NOT_FOUND for any other version (one process serves one model set)
 */
export function resolveModelVersion(requested: string, served: string, kind: string): string {
  if (requested === '' || requested === served) return served;
  throw new AppError('NOT_FOUND', `unknown ${kind} version '${requested}' (this service holds '${served}')`, {
    details: { modelVersion: requested },
  });
}
