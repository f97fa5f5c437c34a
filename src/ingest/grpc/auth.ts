/**
 * Token checks on gRPC (docs/grpc.md, Tokens): every call presents `authorization: Bearer <token>`
 * metadata and needs its method's scope. Checked once per call, on its metadata, before the
 * handler runs and before any request message is read or decoded: a refused call costs no
 * decoding, and an accepted stream pays nothing per message.
 */
import * as grpc from '@grpc/grpc-js';
import { bearerToken } from '../../auth/bearer.js';
import { allows, type Authenticator, type Scope } from '../../auth/scope.js';

/**
 * The scope each method needs. Detect stores nothing but scores points as ingest does, for the
 * same clients, so it needs `ingest` too. A method not listed needs `admin`: closed by default.
 */
export const METHOD_SCOPES: Readonly<Record<string, Scope>> = {
  '/vigil.v1.Ingest/Stream': 'ingest',
  '/vigil.v1.Ingest/Detect': 'ingest',
};

const HOW = 'send metadata "authorization: Bearer <token>" (docs/grpc.md)';

/** The status a refused call ends with. */
export interface Refusal {
  readonly code: grpc.status.UNAUTHENTICATED | grpc.status.PERMISSION_DENIED;
  readonly details: string;
}

/** Why the call with this metadata may not go on, or undefined when it may. */
export function refusal(
  auth: Authenticator,
  method: string,
  metadata: grpc.Metadata,
): Refusal | undefined {
  const values = metadata.get('authorization');
  const first = values[0];
  const token = typeof first === 'string' ? bearerToken(first) : undefined;
  if (values.length === 0) {
    return { code: grpc.status.UNAUTHENTICATED, details: `${method}: no token; ${HOW}` };
  }
  if (token === undefined || values.length > 1) {
    return {
      code: grpc.status.UNAUTHENTICATED,
      details: `${method}: authorization metadata is not one "Bearer <token>"; ${HOW}`,
    };
  }
  const principal = auth.authenticate(token);
  if (principal === undefined) {
    return { code: grpc.status.UNAUTHENTICATED, details: `${method}: unknown token` };
  }
  const needed = METHOD_SCOPES[method] ?? 'admin';
  if (!allows(principal, needed)) {
    const held = [...principal.scopes].join(', ') || 'none';
    return {
      code: grpc.status.PERMISSION_DENIED,
      details: `${method} needs scope ${needed}; token ${JSON.stringify(principal.name)} has ${held}`,
    };
  }
  return undefined;
}

/** A server interceptor that ends refused calls with their status before their handler runs. */
export function tokenInterceptor(auth: Authenticator): grpc.ServerInterceptor {
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, pass) {
            const refused = refusal(auth, method.path, metadata);
            if (refused === undefined) pass(metadata);
            else call.sendStatus(refused);
          },
        });
      },
    });
}
