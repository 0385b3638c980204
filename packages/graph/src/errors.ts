/**
 * Error codes of the compute engine. Closed table: callers switch on `code`, never on message text.
 * Every code is a caller mistake (bad graph, bad feed) except `RUNTIME`, which wraps an onnxruntime failure.
 */
export const GRAPH_ERROR_CODES = [
  'SHAPE_MISMATCH',
  'DTYPE_MISMATCH',
  'INVALID_ATTRIBUTE',
  'UNKNOWN_ATTRIBUTE',
  'UNKNOWN_OP',
  'UNKNOWN_VALUE',
  'DUPLICATE_NAME',
  'CYCLE',
  'NOT_DIFFERENTIABLE',
  'MISSING_FEED',
  'UNKNOWN_FEED',
  'RUNTIME',
] as const;

/** One of {@link GRAPH_ERROR_CODES}. */
export type GraphErrorCode = (typeof GRAPH_ERROR_CODES)[number];

/** The one error type of `@alignda/graph`; messages name the node (or feed) and the shapes involved. */
export class GraphError extends Error {
  override readonly name = 'GraphError';
  /** Stable machine-readable code. */
  readonly code: GraphErrorCode;
  /** The graph node the error is about, when there is one. */
  readonly node: string | undefined;

  constructor(code: GraphErrorCode, message: string, options: { node?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.node = options.node;
  }
}
