// Linted as packages/tensor/src/index.ts: packages/graph imports @alignda/tensor, so this closes a cycle across
// packages through the node_modules/@alignda links, type-only as it is.
import type { GraphBuilder } from '@alignda/graph';

export type { GraphBuilder };
