import {
  status,
  type MethodDefinition,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';

/**
 * What a request that could not be decoded becomes (bytes that are no protobuf message of the rpc's request type):
 * grpc-js ends a call whose deserializer throws with INTERNAL ("Error deserializing request"), a server fault, when it
 * is the caller's; with this marker in place of the request the handler answers INVALID_ARGUMENT instead.
 */
class UndecodableRequest {
  /** @param reason - why decoding failed, e.g. `invalid wire type 7 at offset 3` */
  constructor(readonly reason: string) {}
}

/** The INVALID_ARGUMENT status of an undecodable request to `path` (`/alignda.v1.EncoderService/Encode`). */
function undecodableStatus(path: string, request: UndecodableRequest): { code: status; details: string } {
  const rpc = path.split('/').at(-1) ?? path;
  return {
    code: status.INVALID_ARGUMENT,
    details: `the request is not a ${rpc} request message (${request.reason})`,
  };
}

/** The method with a deserializer that returns an {@link UndecodableRequest} rather than throwing. */
function tolerantMethod(method: MethodDefinition<unknown, unknown>): MethodDefinition<unknown, unknown> {
  return {
    ...method,
    requestDeserialize: (bytes: Buffer): unknown => {
      try {
        return method.requestDeserialize(bytes);
      } catch (err) {
        return new UndecodableRequest(err instanceof Error ? err.message : String(err));
      }
    },
  };
}

/**
 * The handler answering an {@link UndecodableRequest} with INVALID_ARGUMENT and passing any other to `handler`.
 * Unary and server-streaming rpcs only (a streamed request is decoded per message, after the handler starts): the
 * others are returned unchanged.
 */
function tolerantHandler(
  method: MethodDefinition<unknown, unknown>,
  handler: UntypedHandleCall,
): UntypedHandleCall {
  if (method.requestStream) return handler;
  if (!method.responseStream) {
    const unary = handler as (call: ServerUnaryCall<unknown, unknown>, callback: unknown) => void;
    return (call: ServerUnaryCall<unknown, unknown>, callback: (error: object, value: null) => void) => {
      if (call.request instanceof UndecodableRequest) {
        callback(undecodableStatus(method.path, call.request), null);
        return;
      }
      unary(call, callback);
    };
  }
  const stream = handler as (call: ServerWritableStream<unknown, unknown>) => void;
  return (call: ServerWritableStream<unknown, unknown>) => {
    if (call.request instanceof UndecodableRequest) {
      call.emit('error', undecodableStatus(method.path, call.request));
      return;
    }
    stream(call);
  };
}

/**
 * A service definition and implementation in which a request that is not a protobuf message of its rpc's type (random
 * bytes, a truncated message) is answered INVALID_ARGUMENT, naming the decoder's complaint, instead of grpc-js's
 * INTERNAL. Used by `bindService`, so every service gets it.
 */
export function tolerateUndecodableRequests<TImpl extends UntypedServiceImplementation>(
  definition: ServiceDefinition<TImpl>,
  implementation: TImpl,
): { definition: ServiceDefinition; implementation: UntypedServiceImplementation } {
  const methods = Object.entries(definition as ServiceDefinition);
  return {
    definition: Object.fromEntries(methods.map(([name, method]) => [name, tolerantMethod(method)])),
    implementation: Object.fromEntries(
      methods.map(([name, method]) => {
        const handler = implementation[name];
        return [name, handler === undefined ? handler : tolerantHandler(method, handler)];
      }),
    ) as UntypedServiceImplementation,
  };
}
