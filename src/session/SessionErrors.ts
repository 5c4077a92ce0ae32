import { Schema } from "effect"

/** No such session, or not this client's: the same error either way. */
export class SessionNotFound extends Schema.TaggedError<SessionNotFound>()("SessionNotFound", {
  sessionId: Schema.String
}) {
  override get message() {
    return `no session "${this.sessionId}"`
  }
}

/** The client already holds `maxSessionsPerClient` sessions. */
export class TooManySessions extends Schema.TaggedError<TooManySessions>()("TooManySessions", {
  limit: Schema.Number
}) {
  override get message() {
    return `this client already has ${this.limit} open sessions (the limit); close one first`
  }
}

/** The session already has as many requests in flight as it may (`maxPendingEvents`). */
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", {
  limit: Schema.Number
}) {
  override get message() {
    return `this session already has ${this.limit} requests in flight (the limit); wait for some to finish`
  }
}

/** JSON-RPC ids must be unique among a sender's requests in flight. */
export class DuplicateRequestId extends Schema.TaggedError<DuplicateRequestId>()("DuplicateRequestId", {
  id: Schema.Union([Schema.String, Schema.Number])
}) {
  override get message() {
    return `a request with id ${JSON.stringify(this.id)} is already in flight in this session`
  }
}

/** A response from the client that answers no request the session asked it. */
export class UnknownResponse extends Schema.TaggedError<UnknownResponse>()("UnknownResponse", {
  id: Schema.Union([Schema.String, Schema.Number, Schema.Null])
}) {
  override get message() {
    return `no request with id ${JSON.stringify(this.id)} is waiting for an answer in this session`
  }
}
