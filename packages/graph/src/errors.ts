import { AppError } from '@alignda/errors';
import type { AppErrorCode } from '@alignda/errors';

/**
 * Why the compute engine failed: the reason behind the platform code. Closed table: callers switch on
 * `reason`, never on message text. Every reason is a caller mistake (bad graph, bad feed, bad option)
 * except `RUNTIME`, which wraps an onnxruntime failure, and `INTERNAL`, a broken invariant of the engine.
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
  /** An optimizer, schedule or clipping option (or its saved state) outside its allowed values. */
  'INVALID_OPTION',
  /** A parameter map (gradients, optimizer state, checkpoint) lacks, adds or resizes an entry. */
  'LAYOUT_MISMATCH',
  'RUNTIME',
  /** A broken invariant of the engine itself (a bug), e.g. a gradient rule returning a wrong shape. */
  'INTERNAL',
] as const;

/** One of {@link GRAPH_ERROR_CODES}. */
export type GraphErrorCode = (typeof GRAPH_ERROR_CODES)[number];

/** The platform code (`@alignda/errors`) each reason maps to; exhaustive. */
const APP_CODE_BY_GRAPH_CODE: Readonly<Record<GraphErrorCode, AppErrorCode>> = {
  SHAPE_MISMATCH: 'INVALID_ARGUMENT',
  DTYPE_MISMATCH: 'INVALID_ARGUMENT',
  INVALID_ATTRIBUTE: 'INVALID_ARGUMENT',
  UNKNOWN_ATTRIBUTE: 'INVALID_ARGUMENT',
  UNKNOWN_OP: 'INVALID_ARGUMENT',
  UNKNOWN_VALUE: 'INVALID_ARGUMENT',
  DUPLICATE_NAME: 'INVALID_ARGUMENT',
  CYCLE: 'INVALID_ARGUMENT',
  // The caller asked for a gradient the graph cannot give (integer value, op without a rule): change the request.
  NOT_DIFFERENTIABLE: 'INVALID_ARGUMENT',
  MISSING_FEED: 'INVALID_ARGUMENT',
  UNKNOWN_FEED: 'INVALID_ARGUMENT',
  INVALID_OPTION: 'INVALID_ARGUMENT',
  LAYOUT_MISMATCH: 'INVALID_ARGUMENT',
  // A graph that passed every check and still fails in onnxruntime is the engine's problem, not the caller's.
  RUNTIME: 'INTERNAL',
  INTERNAL: 'INTERNAL',
};

/**
 * The `AppError` of `@alignda/graph`: `code` is the platform code the edges map to a status, `reason`
 * the specific engine reason (also in `details.reason`). Messages name the node (or feed) and the
 * shapes involved.
 */
export class GraphError extends AppError {
  override readonly name = 'GraphError';
  /** What went wrong. */
  readonly reason: GraphErrorCode;
  /** The graph node the error is about, when there is one (also in `details.node`). */
  readonly node: string | undefined;

  constructor(reason: GraphErrorCode, message: string, options: { node?: string; cause?: unknown } = {}) {
    const { node, cause } = options;
    super(APP_CODE_BY_GRAPH_CODE[reason], message, {
      details: node === undefined ? { reason } : { reason, node },
      cause,
    });
    this.reason = reason;
    this.node = node;
  }
}
