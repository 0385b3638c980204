// Imports packages/cli by a relative path, as a file in packages/<name>/src would: only packages/cli itself may.
import * as cli from '../../cli/src/index.js';

export { cli };
