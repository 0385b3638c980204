import type { OpSchema } from './schema.js';
import { ELEMENTWISE_SCHEMAS } from './schemas-elementwise.js';
import { NN_SCHEMAS } from './schemas-nn.js';
import { SHAPE_SCHEMAS } from './schemas-shape.js';

/** Every op the engine knows, by ONNX op_type. */
export const SCHEMAS: Readonly<Record<string, OpSchema>> = { ...ELEMENTWISE_SCHEMAS, ...NN_SCHEMAS, ...SHAPE_SCHEMAS };

/** Op types the builder accepts (sorted), for messages and the README. */
export const OP_TYPES: readonly string[] = Object.keys(SCHEMAS).sort();
