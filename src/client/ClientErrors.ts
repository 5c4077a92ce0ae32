/**
 * What the client's promises reject with. Each is an `Error` (stack traces, `instanceof`) with the fields a
 * caller branches on; all extend {@link GatewayClientError}.
 */
import type { CloseReason, JsonRpcErrorObject } from "./Protocol.ts"

export class GatewayClientError extends Error {
  override readonly name: string = "GatewayClientError"
}

/** The gateway could not be reached, or answered something that is not what it sends (the network, a proxy). */
export class GatewayNetworkError extends GatewayClientError {
  override readonly name = "GatewayNetworkError"
}

/** A route answered with an unexpected status; `code` and `message` come from the gateway's error body. */
export class GatewayHttpError extends GatewayClientError {
  override readonly name = "GatewayHttpError"
  readonly status: number
  /** The gateway's snake_case code (`session_not_found`, `too_many_sessions`, ...), or `http_<status>`. */
  readonly code: string

  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }

  /** Reads the `{ error: { code, message } }` body, if the answer has one. */
  static async fromResponse(response: Response): Promise<GatewayHttpError> {
    const text = await response.text().catch(() => "")
    try {
      const body: unknown = JSON.parse(text)
      const error = typeof body === "object" && body !== null && "error" in body ? body.error : undefined
      if (typeof error === "object" && error !== null && "code" in error && "message" in error) {
        return new GatewayHttpError(response.status, String(error.code), String(error.message))
      }
    } catch {
      // Not JSON (a proxy's error page, say): fall through to the status.
    }
    return new GatewayHttpError(response.status, `http_${response.status}`, text || response.statusText)
  }
}

/** The server answered the request with a JSON-RPC error. */
export class JsonRpcError extends GatewayClientError {
  override readonly name = "JsonRpcError"
  readonly code: number
  readonly data: unknown
  /** The server that answered; null for the gateway itself or a broadcast. */
  readonly serverId: string | null

  constructor(error: JsonRpcErrorObject, serverId: string | null) {
    super(error.message)
    this.code = error.code
    this.data = error.data
    this.serverId = serverId
  }
}

/** The gateway ended the request with an `error` event (`request_timeout`, `backend_closed`, ...). */
export class GatewayEventError extends GatewayClientError {
  override readonly name = "GatewayEventError"
  readonly code: string
  readonly data: unknown
  readonly serverId: string | undefined

  constructor(error: { readonly code: string; readonly message: string; readonly data?: unknown }, serverId?: string) {
    super(error.message)
    this.code = error.code
    this.data = error.data
    this.serverId = serverId
  }
}

/** No answer within the caller's `timeoutMs`; the gateway is told to cancel the request. */
export class RequestTimeoutError extends GatewayClientError {
  override readonly name = "RequestTimeoutError"
  readonly method: string
  readonly timeoutMs: number

  constructor(method: string, timeoutMs: number) {
    super(`${method}: no answer within ${timeoutMs} ms`)
    this.method = method
    this.timeoutMs = timeoutMs
  }
}

/** The session is closed: by `close()`, by the gateway (`closed` event), or its stream could not be reopened. */
export class SessionClosedError extends GatewayClientError {
  override readonly name = "SessionClosedError"
  /** The `closed` event's reason, or `stream_failed` when the stream was refused for good (the error says why). */
  readonly reason: CloseReason | "stream_failed"

  constructor(reason: CloseReason | "stream_failed", options?: { readonly cause?: unknown }) {
    super(`the session is closed (${reason})`, options)
    this.reason = reason
  }
}
