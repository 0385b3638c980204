/**
 * Every error the gateway sends is an RFC 9457 problem (`application/problem+json`): `type`, `title`,
 * `status`, `detail` and the AppError catalog `code`, plus `errors` (path and message of each issue)
 * for a request that failed validation. Thrown AppErrors map through packages/errors'
 * HTTP_STATUS_BY_CODE; Fastify's own errors (validation, malformed JSON, body limit, media type) and
 * unknown routes are turned into the same shape here, once.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { APP_ERROR_CODES, AppError, HTTP_STATUS_BY_CODE, isAppError } from '@alignda/errors';
import type { AppErrorCode } from '@alignda/errors';

/** The media type of every error body (RFC 9457, section 3). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** A short, fixed summary per code: the RFC's `title` (the same for every occurrence of the code). */
const TITLES: Readonly<Record<AppErrorCode, string>> = Object.freeze({
  INVALID_ARGUMENT: 'Invalid request',
  NOT_FOUND: 'Not found',
  ALREADY_EXISTS: 'Already exists',
  CONFLICT: 'Conflict',
  FAILED_PRECONDITION: 'Failed precondition',
  CONFIG_INVALID: 'Server misconfigured',
  UNAVAILABLE: 'Service unavailable',
  DEADLINE_EXCEEDED: 'Deadline exceeded',
  CANCELLED: 'Cancelled',
  RESOURCE_EXHAUSTED: 'Too many requests',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  UNAUTHENTICATED: 'Unauthenticated',
  PERMISSION_DENIED: 'Permission denied',
  UNIMPLEMENTED: 'Not implemented',
  INTERNAL: 'Internal error',
});

/**
 * An AppError answered with an HTTP status more precise than its code's own: 410 Gone (NOT_FOUND: an expired result),
 * 416 Range Not Satisfiable (INVALID_ARGUMENT). The problem keeps the catalog code; `title` names the status.
 */
export class StatusError extends AppError {
  override readonly name = 'StatusError';
  readonly status: number;
  readonly title: string;
  /** Headers the answer needs (Content-Range with a 416). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: AppErrorCode,
    status: number,
    title: string,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(code, message, options.details === undefined ? {} : { details: options.details });
    this.status = status;
    this.title = title;
    this.headers = Object.freeze({ ...options.headers });
  }
}

/** The problem `type` of a code: a URN, stable and not pretending to be a page. */
export function problemType(code: AppErrorCode): string {
  return `urn:alignda:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}

/** The body of every error response. */
export const problemSchema = z
  .object({
    type: z.string().describe('URN naming the kind of problem, one per code'),
    title: z.string().describe('short summary of the kind of problem'),
    status: z.number().int().describe('the HTTP status, repeated'),
    detail: z.string().describe('what went wrong with this request'),
    code: z.enum(APP_ERROR_CODES).describe('stable AppError catalog code'),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('validation issues: where (body/observations/points/0/sigma) and what'),
  })
  .meta({ id: 'Problem' });

/** An error response's body. */
export type Problem = z.infer<typeof problemSchema>;

/** A route schema's entry for an error status: `description` and the problem body. */
export function problemResponse(description: string) {
  return { description, content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } } };
}

/**
 * The code for a Fastify or plugin error that carries only an HTTP status. The status itself is kept
 * (a 415 stays 415) where it is more precise than the code's own status.
 */
function codeOfStatus(status: number): AppErrorCode {
  switch (status) {
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 408:
    case 504:
      return 'DEADLINE_EXCEEDED';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 501:
      return 'UNIMPLEMENTED';
    case 503:
      return 'UNAVAILABLE';
    default:
      return status >= 400 && status < 500 ? 'INVALID_ARGUMENT' : 'INTERNAL';
  }
}

/** A problem with its status and the headers it needs (Retry-After, WWW-Authenticate). */
export interface ProblemResponse {
  /** The body; RFC 9457 lets a problem carry extension members (readiness adds `checks`). */
  readonly problem: Problem & { readonly [extension: string]: unknown };
  readonly headers: Readonly<Record<string, string>>;
}

function make(code: AppErrorCode, status: number, detail: string, extra: Partial<Problem> = {}): Problem {
  return { type: problemType(code), title: TITLES[code], status, detail, code, ...extra };
}

/** A validation issue's location: `body/observations/points/0/sigma` (the zod issue path under its part). */
function issuePath(context: string | undefined, instancePath: string): string {
  const part = context ?? 'body';
  return instancePath === '' || instancePath === '/' ? part : `${part}${instancePath}`;
}

/** What this module reads of a zod issue inside a union's `errors`. */
interface UnionIssue {
  readonly code?: string;
  readonly path?: readonly PropertyKey[];
  readonly message?: string;
  readonly errors?: readonly (readonly UnionIssue[])[];
}

/**
 * The issues of the union member the input came closest to matching, each with its full path. zod
 * reports a union that no member accepts as one "Invalid input" at the union; a client needs the
 * member it meant (`observations/cells/0/value`, not `observations`). The closest member is the one
 * whose deepest issue is deepest (it matched furthest), then the one with the fewest issues; nested
 * unions are expanded the same way.
 */
function unionIssues(
  at: string,
  members: readonly (readonly UnionIssue[])[],
): { path: string; message: string }[] {
  const depth = (issues: readonly UnionIssue[]): number =>
    Math.max(0, ...issues.map((i) => i.path?.length ?? 0));
  const best = [...members].sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0] ?? [];
  return best.flatMap((issue) => {
    const path = [at, ...(issue.path ?? []).map(String)].join('/');
    return issue.code === 'invalid_union' && issue.errors !== undefined && issue.errors.length > 0
      ? unionIssues(path, issue.errors)
      : [{ path, message: issue.message ?? 'invalid value' }];
  });
}

/**
 * The problem for anything thrown while serving a request. AppErrors keep their code, message and
 * status; an AppError's `details.retryAfterS` becomes Retry-After; anything unexpected is a 500
 * INTERNAL whose detail names only the correlation id (the cause goes to the log, not the client).
 */
export function problemOf(err: unknown, correlationId: string): ProblemResponse {
  if (err instanceof StatusError)
    return { problem: make(err.code, err.status, err.message, { title: err.title }), headers: err.headers };
  if (isAppError(err)) {
    const headers: Record<string, string> = {};
    const retryAfter = err.details?.retryAfterS;
    if (typeof retryAfter === 'number') headers['retry-after'] = String(Math.ceil(retryAfter));
    if (err.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer realm="alignda"';
    return { problem: make(err.code, HTTP_STATUS_BY_CODE[err.code], err.message), headers };
  }
  const fastifyError = err as Partial<FastifyError> | undefined;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const errors = err.validation.flatMap((v) => {
      const path = issuePath(err.validationContext, v.instancePath);
      const members = (v.params as { errors?: unknown }).errors;
      return v.keyword === 'invalid_union' && Array.isArray(members) && members.length > 0
        ? unionIssues(path, members as UnionIssue[][])
        : [{ path, message: v.message ?? 'invalid value' }];
    });
    return {
      problem: make('INVALID_ARGUMENT', 400, errors.map((e) => `${e.path}: ${e.message}`).join('; '), {
        errors,
      }),
      headers: {},
    };
  }
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = codeOfStatus(status);
    return { problem: make(code, status, fastifyDetail(fastifyError)), headers: {} };
  }
  return {
    problem: make('INTERNAL', 500, `internal error (correlation id ${correlationId})`),
    headers: {},
  };
}

/** A client-facing sentence for Fastify's own 4xx errors. */
function fastifyDetail(err: Partial<FastifyError> | undefined): string {
  switch (err?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return `malformed JSON body: ${err.message}`;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body is over the size limit';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported Content-Type: send application/json';
    // Raised by the router, with the whole path in the message: say what is wrong, not the path again.
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return 'a path parameter is too long (an id is a 36-character uuid)';
    case 'FST_ERR_BAD_URL':
      return 'the URL is malformed (a bad percent-encoding)';
    default:
      // Fastify's JSON parser reports a syntax error as a SyntaxError with status 400.
      if (err?.name === 'SyntaxError') return `malformed JSON body: ${err.message}`;
      return err?.message ?? 'bad request';
  }
}

/** Sends `problem` with its media type; the body is serialised here, not by a route's response schema. */
export function sendProblem(reply: FastifyReply, response: ProblemResponse): FastifyReply {
  for (const [name, value] of Object.entries(response.headers)) void reply.header(name, value);
  return reply
    .code(response.problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(response.problem));
}

/**
 * Fastify's `frameworkErrors` option: the router's own errors (a path parameter over `maxParamLength`, 414; a
 * malformed URL, 400), which it raises before any route or error handler and answers with a plain JSON body of its
 * own unless this is set, answered as problems too.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  request.log.info({ code: err.code }, 'request refused');
  void sendProblem(reply, problemOf(err, request.id));
}

/** Installs the error handler (every thrown error becomes a problem) and the 404 for unknown routes. */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const response = problemOf(err, request.id);
    if (response.problem.status >= 500) request.log.error({ err }, 'request failed');
    else
      request.log.info({ code: response.problem.code, detail: response.problem.detail }, 'request refused');
    return sendProblem(reply, response);
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const target = request.url.length > 200 ? `${request.url.slice(0, 200)}...` : request.url;
    return sendProblem(
      reply,
      problemOf(new AppError('NOT_FOUND', `no route ${request.method} ${target}`), request.id),
    );
  });
}
