import { Schema } from "effect"
import * as JsonRpc from "../protocol/JsonRpc.ts"
import { ServerId } from "../protocol/Namespacing.ts"

// The session API's bodies. The request schemas validate what clients send; all of them (responses too)
// document the API at `/openapi.json`, so the document cannot drift from the code.

/**
 * `POST /gateway/stream` body: which servers the session may use (default: every server of the client), and
 * which backend requests its client can answer (MCP client capabilities: `sampling`, `elicitation`, `roots`;
 * default: all of them). A backend request the client cannot answer is refused at once.
 */
export const CreateSessionBody = Schema.Struct({
  servers: Schema.optional(Schema.Array(ServerId)),
  capabilities: Schema.optional(Schema.Record(Schema.String, Schema.Unknown))
})

/**
 * `POST /gateway/stream/:session_id/request` body: one JSON-RPC request or notification, or the response to a
 * `request` event (a backend asked the client something).
 */
export const ClientMessage = Schema.Union([
  JsonRpc.Request,
  JsonRpc.Notification,
  JsonRpc.SuccessResponse,
  JsonRpc.ErrorResponse
])

export const ServerSummary = Schema.Struct({
  id: Schema.String,
  status: Schema.Literals(["ready", "failed"]),
  error: Schema.optional(Schema.String),
  capabilities: Schema.optional(Schema.Record(Schema.String, Schema.Unknown)),
  instructions: Schema.optional(Schema.String)
})

/** `201` answer to `POST /gateway/stream`. */
export const SessionCreated = Schema.Struct({
  session_id: Schema.String,
  stream_url: Schema.String,
  request_url: Schema.String,
  servers: Schema.Array(ServerSummary)
})

/** `202` answer to a posted message: the id its answer will carry on the stream (null for a notification). */
export const Accepted = Schema.Struct({ request_id: Schema.NullOr(Schema.String) })

/** Every error answer. */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({ code: Schema.String, message: Schema.String })
})
