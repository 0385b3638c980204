// Imports packages/db instead of declaring a port: forbidden in pure modules and in packages/pipelines.
import * as db from '@alignda/db';

export { db };
