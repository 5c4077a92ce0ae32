/**
 * How `/mcp` says no: a JSON-RPC error (MCP's way) under one HTTP status. The gateway's typed errors map here
 * the way `http/ErrorResponse.ts` maps them for the session API: one status, one code per error.
 */
import type { JSONRPCErrorResponse, RequestId } from "@modelcontextprotocol/server"
import { HttpServerResponse } from "effect/http"

export const ParseError = -32700
export const InvalidRequest = -32600
export const MethodNotFound = -32601
export const InvalidParams = -32602
export const InternalError = -32603
/** The code the SDK (and the conformance suite) use for an unknown session and other server refusals. */
export const ServerError = -32000
export const SessionNotFound = -32001
/** 2026-07-28: the request's protocol version is not one the server speaks. */
export const UnsupportedProtocolVersion = -32022
/** 2026-07-28: the request needs a client capability the client did not declare. */
export const MissingRequiredClientCapability = -32021

export const errorMessage = (id: RequestId | null, code: number, message: string): JSONRPCErrorResponse =>
  ({ jsonrpc: "2.0", id, error: { code, message } }) as JSONRPCErrorResponse

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
