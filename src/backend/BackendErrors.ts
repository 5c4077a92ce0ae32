import { Schema } from "effect"

/** The backend could not be started or its handshake failed (spawn error, refused connection, bad handshake). */
export class BackendStartFailed extends Schema.TaggedError<BackendStartFailed>()("BackendStartFailed", {
  serverId: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `server "${this.serverId}" could not be started: ${this.reason}`
  }
}

/** The backend is not connected right now (starting, restarting, or waiting to retry after a failure). */
export class BackendUnavailable extends Schema.TaggedError<BackendUnavailable>()("BackendUnavailable", {
  serverId: Schema.String,
  status: Schema.String
}) {
  override get message() {
    return `server "${this.serverId}" is not available (${this.status})`
  }
}

/** The connection closed (the process died or the transport closed) while a request was in flight. */
export class BackendClosed extends Schema.TaggedError<BackendClosed>()("BackendClosed", {
  serverId: Schema.String,
  method: Schema.String
}) {
  override get message() {
    return `server "${this.serverId}" closed its connection before answering ${this.method}`
  }
}

/** The backend did not answer within the request timeout. */
export class RequestTimedOut extends Schema.TaggedError<RequestTimedOut>()("RequestTimedOut", {
  serverId: Schema.String,
  method: Schema.String,
  timeoutMillis: Schema.Number
}) {
  override get message() {
    return `server "${this.serverId}" did not answer ${this.method} within ${this.timeoutMillis} ms`
  }
}

/** The transport refused to carry a message (write error, HTTP error that is not a session loss). */
export class BackendSendFailed extends Schema.TaggedError<BackendSendFailed>()("BackendSendFailed", {
  serverId: Schema.String,
  method: Schema.String,
  reason: Schema.String,
  /**
   * An HTTP backend's refusal that the spec gives a meaning to (400, 404), and the JSON-RPC error its body held:
   * `/mcp` answers a modern client with the same, rather than turning it into a 200.
   */
  refusal: Schema.optional(Schema.Struct({
    status: Schema.Number,
    error: Schema.optional(Schema.Struct({ code: Schema.Number, message: Schema.String, data: Schema.optional(Schema.Unknown) }))
  }))
}) {
  override get message() {
    return `could not send ${this.method} to server "${this.serverId}": ${this.reason}`
  }
}

/** Every way a request to a backend can fail. */
export type BackendError = BackendUnavailable | BackendClosed | RequestTimedOut | BackendSendFailed

/** A server id that is not configured. Callers answer `forbidden`: never reveal which servers exist. */
export class UnknownServer extends Schema.TaggedError<UnknownServer>()("UnknownServer", {
  serverId: Schema.String
}) {
  override get message() {
    return `no server "${this.serverId}"`
  }
}
