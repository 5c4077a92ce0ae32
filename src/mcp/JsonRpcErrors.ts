/**
 * How `/mcp` says no: a JSON-RPC error (MCP's way) under one HTTP status. The gateway's typed errors map here
 * the way `http/ErrorResponse.ts` maps them for the session API: one status, one code per error.
 */
import type { JSONRPCErrorResponse, JSONRPCRequest, RequestId } from "@modelcontextprotocol/server"
import { HttpServerResponse } from "effect/http"

export const ParseError = -32700
export const InvalidRequest = -32600
export const MethodNotFound = -32601
export const InvalidParams = -32602
export const InternalError = -32603
/** The code the SDK (and the conformance suite) use for an unknown session and other server refusals. */
export const ServerError = -32000
export const SessionNotFound = -32001
/** 2025-11-25 and before: the resource a request names does not exist (2026-07-28 says -32602 instead). */
export const ResourceNotFound = -32002
/** 2026-07-28: a request's headers (`Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`) do not match its body. HTTP 400. */
export const HeaderMismatch = -32020
/** 2026-07-28: the request's protocol version is not one the server speaks. */
export const UnsupportedProtocolVersion = -32022
/** 2026-07-28: the request needs a client capability the client did not declare. */
export const MissingRequiredClientCapability = -32021

export const errorMessage = (id: RequestId | null, code: number, message: string, data?: unknown): JSONRPCErrorResponse =>
  ({ jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } }) as JSONRPCErrorResponse

/** An HTTP answer carrying one JSON-RPC error. */
export const errorResponse = (
  status: number,
  code: number,
  message: string,
  options: { readonly id?: RequestId | null; readonly headers?: Record<string, string> } = {}
) =>
  HttpServerResponse.jsonUnsafe(errorMessage(options.id ?? null, code, message), {
    status,
    ...(options.headers === undefined ? {} : { headers: options.headers })
  })

/** The JSON-RPC code of a gateway error met while submitting a client's request to its session. */
export const codeOfSubmitError = (tag: string): number => {
  switch (tag) {
    case "AmbiguousMethod":
      return MethodNotFound
    case "Forbidden":
      // A name whose server the client may not use is as unknown as a name that does not exist.
      return InvalidParams
    case "DuplicateRequestId":
    case "UnknownResponse":
      return InvalidRequest
    default:
      return ServerError
  }
}

/** Requests routed by a name (or ref) in their params. */
const namesByParams = (method: string) => method === "tools/call" || method === "prompts/get" || method === "completion/complete"

/** Requests about one resource, routed by its URI. */
const namesResource = (method: string) => method === "resources/read" || method === "resources/subscribe"

/**
 * A client's request its gateway session refused, as the JSON-RPC error its client gets. A resource URI that none
 * of the client's servers offers is no unknown method but "Resource not found", naming the URI, under the code of
 * the client's era: -32002 in the 2025 revisions, -32602 in 2026-07-28 (SEP-2164).
 */
export const submitRefusal = (
  era: "legacy" | "modern",
  request: Pick<JSONRPCRequest, "id" | "method" | "params">,
  error: { readonly _tag: string; readonly message: string }
): JSONRPCErrorResponse => {
  const uri = request.params?.["uri"]
  if (error._tag === "AmbiguousMethod" && namesResource(request.method) && typeof uri === "string") {
    return errorMessage(request.id, era === "legacy" ? ResourceNotFound : InvalidParams, "Resource not found", { uri })
  }
  // A tool, prompt or completion ref that names no server is an unknown name, not an unknown method (MCP: -32602).
  if (error._tag === "AmbiguousMethod" && namesByParams(request.method)) return errorMessage(request.id, InvalidParams, error.message)
  return errorMessage(request.id, codeOfSubmitError(error._tag), error.message)
}

/** An HTTP backend's refusal carried by a session's `error` event: its status, and its JSON-RPC error if it sent one. */
export interface Refusal {
  readonly status: number
  readonly error?: { readonly code: number; readonly message: string; readonly data?: unknown }
}

/** The refusal in an `error` event's `data` (see `session/Outcome.ts`), if the event carries one. */
export const refusalOf = (error: { readonly data?: unknown }): Refusal | undefined => {
  const refusal = typeof error.data === "object" && error.data !== null ? (error.data as { refusal?: unknown }).refusal : undefined
  if (typeof refusal !== "object" || refusal === null) return undefined
  const { status, error: inner } = refusal as { status?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } }
  if (typeof status !== "number") return undefined
  return typeof inner?.code === "number" && typeof inner.message === "string"
    ? { status, error: { code: inner.code, message: inner.message, ...(inner.data === undefined ? {} : { data: inner.data }) } }
    : { status }
}
