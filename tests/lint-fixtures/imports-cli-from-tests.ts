// Imports packages/cli by a relative path, as a file in tests/ or bench/ would: only packages/cli itself may.
import * as cli from '../packages/cli/src/index.js';

export { cli };
