import type { JSONRPCResponse } from "@modelcontextprotocol/client"
import { Cause, Exit } from "effect"
import type { BackendError } from "../backend/BackendErrors.ts"
import type { Unnumbered } from "./SessionEvent.ts"

/** The `error` event code for each way a backend request can fail. */
export const errorCode = (error: BackendError): string => {
  switch (error._tag) {
    case "RequestTimedOut":
      return "request_timeout"
    case "BackendClosed":
      return "backend_closed"
    case "BackendUnavailable":
      return "backend_unavailable"
    case "BackendSendFailed":
      return "backend_send_failed"
  }
}

/** What a merged answer's `errors` says of a server that failed: why it could not answer, or its JSON-RPC error. */
export const failureOf = (error: BackendError | { readonly code: number; readonly message: string }) => ({
  code: "_tag" in error ? errorCode(error) : error.code,
  message: error.message
})

/** The event that ends a request to one server: its response, or why there is none. */
export const outcome = (
  requestId: string,
  serverId: string,
  exit: Exit.Exit<JSONRPCResponse, BackendError>
): Unnumbered => {
  if (Exit.isSuccess(exit)) {
    return { event: "response", data: { request_id: requestId, server_id: serverId, response: exit.value } }
  }
  const error = Cause.squash(exit.cause) as BackendError
  const known = typeof error === "object" && error !== null && "_tag" in error
  return {
    event: "error",
    data: {
      request_id: requestId,
      server_id: serverId,
      error: !known
        ? { code: "internal_error", message: "internal error" }
        : error._tag === "BackendSendFailed" && error.refusal !== undefined
        // What the backend refused with (its HTTP status, its JSON-RPC error), for edges that keep it.
        ? { code: errorCode(error), message: error.message, data: { refusal: error.refusal } }
        : { code: errorCode(error), message: error.message }
    }
  }
}

/** The empty result the gateway gives for a backend when it need not ask it (a shared subscription). */
export const localAnswer = (requestId: string, serverId: string, id: string | number): Unnumbered => ({
  event: "response",
  data: { request_id: requestId, server_id: serverId, response: { jsonrpc: "2.0", id, result: {} } }
})
