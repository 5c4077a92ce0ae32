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
