import { GraphError } from '../errors.js';
import type { AttrValue, Value } from '../types.js';
import { SCHEMAS } from './registry.js';
import type { AttrKind, OutSpec } from './schema.js';
import { nodeError } from './schema.js';

function kindOk(kind: AttrKind, v: AttrValue): boolean {
  switch (kind) {
    case 'int':
      return typeof v === 'number' && Number.isInteger(v);
    case 'float':
      return typeof v === 'number' && Number.isFinite(v);
    case 'string':
      return typeof v === 'string';
    case 'ints':
      return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x));
    case 'floats':
      return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  }
}

/**
 * Checks one node against its op schema (known op, arity, attribute names and kinds) and infers its outputs.
 * `inputs` holds `undefined` for an absent optional input. Errors name the node, the op and the input shapes.
 */
export function checkNode(
  op: string,
  node: string,
  inputs: readonly (Value | undefined)[],
  attrs: Readonly<Record<string, AttrValue>>,
): OutSpec[] {
  const schema = SCHEMAS[op];
  if (schema === undefined) {
    throw new GraphError('UNKNOWN_OP', `node '${node}': unknown op '${op}'`, { node });
  }
  const present = inputs.filter((v): v is Value => v !== undefined);
  const c = { op, node, inputs: present, attrs };
  const [lo, hi] = schema.arity;
  if (inputs.length < lo || inputs.length > hi || present.length < lo) {
    throw nodeError(c, 'INVALID_ATTRIBUTE', `takes ${lo === hi ? lo : `${lo} to ${hi}`} inputs, got ${present.length}`);
  }
  for (const [k, v] of Object.entries(attrs)) {
    const kind = schema.attrs[k];
    if (kind === undefined) {
      const known = Object.keys(schema.attrs);
      throw nodeError(c, 'UNKNOWN_ATTRIBUTE', `unknown attribute '${k}' (supported: ${known.length ? known.join(', ') : 'none'})`);
    }
    if (!kindOk(kind, v)) throw nodeError(c, 'INVALID_ATTRIBUTE', `attribute '${k}' must be ${kind}, got ${JSON.stringify(v)}`);
  }
  return schema.infer(c);
}
