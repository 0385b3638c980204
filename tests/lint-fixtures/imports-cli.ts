// Imports packages/cli by name: only packages/cli itself may.
import * as cli from '@alignda/cli';

export { cli };
