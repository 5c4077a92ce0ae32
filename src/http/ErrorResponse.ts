import { Cause, Effect } from "effect"
import { HttpServerResponse } from "effect/http"
import type { DemoBuildFailed } from "../demo/DemoErrors.ts"
import type { AmbiguousMethod, Forbidden } from "../routing/RoutingErrors.ts"
import type {
  DuplicateRequestId,
  SessionNotFound,
  UnknownResponse,
  TooManyRequests,
  TooManySessions
} from "../session/SessionErrors.ts"
import type { BodyTooLarge, InvalidJson, InvalidRequest, RequestRefused, RouteNotFound, Unauthorized } from "./HttpErrors.ts"

/** Every typed error a route may answer with. Domain code never names a status: this module does. */
export type ApiError =
  | Unauthorized
  | RequestRefused
  | Forbidden
  | SessionNotFound
  | InvalidJson
  | InvalidRequest
  | AmbiguousMethod
  | BodyTooLarge
  | TooManySessions
  | TooManyRequests
  | DuplicateRequestId
  | UnknownResponse
  | RouteNotFound
  | DemoBuildFailed

// `satisfies` keeps the table exhaustive: an error added to ApiError without a status does not compile.
const statusOf = {
  Unauthorized: [401, "unauthorized"],
  RequestRefused: [403, "forbidden"],
  Forbidden: [403, "forbidden"],
  SessionNotFound: [404, "session_not_found"],
  InvalidJson: [400, "invalid_json"],
  InvalidRequest: [400, "invalid_request"],
  AmbiguousMethod: [400, "ambiguous_method"],
  BodyTooLarge: [413, "body_too_large"],
  TooManySessions: [429, "too_many_sessions"],
  TooManyRequests: [429, "too_many_requests"],
  DuplicateRequestId: [400, "invalid_request"],
  UnknownResponse: [400, "invalid_request"],
  RouteNotFound: [404, "not_found"],
  DemoBuildFailed: [503, "demo_unavailable"]
} as const satisfies Record<ApiError["_tag"], readonly [number, string]>

/** The HTTP status and wire code of an error, as `toErrorResponse` answers it. */
export const statusAndCode = (error: ApiError): readonly [status: number, code: string] => statusOf[error._tag]

/**
 * The one place a typed error becomes HTTP: its status, and `{ "error": { "code", "message" } }`. A 401
 * also carries `WWW-Authenticate: Bearer` (RFC 6750 §3), which tells a client how to authenticate.
 */
export const toErrorResponse = (error: ApiError): HttpServerResponse.HttpServerResponse => {
  const [status, code] = statusOf[error._tag]
  const headers = error._tag === "Unauthorized" ? { "www-authenticate": "Bearer" } : undefined
  return HttpServerResponse.jsonUnsafe(
    { error: { code, message: error.message } },
    headers === undefined ? { status } : { status, headers }
  )
}

const internalError = { error: { code: "internal_error", message: "internal error" } } as const

/**
 * The answer to a defect (a bug): the cause goes to the log, the client gets a bare 500. Nothing of the
 * cause reaches the body, as it may hold internals (paths, config values, a backend's output).
 */
export const defectResponse = (cause: Cause.Cause<unknown>): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.logError("unexpected defect while handling a request", cause).pipe(
    Effect.as(HttpServerResponse.jsonUnsafe(internalError, { status: 500 }))
  )

/**
 * Applies both to a handler: its typed errors answer through `toErrorResponse`, its defects through
 * `defectResponse`. Interruption (a client that went away) is left alone: there is no one to answer.
 */
export const withErrorResponses = <E extends ApiError, R>(
  handler: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, R> =>
  handler.pipe(
    Effect.catch((error: E) => Effect.succeed(toErrorResponse(error))),
    Effect.catchCauseIf((cause: Cause.Cause<never>) => Cause.hasDies(cause), defectResponse)
  )
