import { Effect, Schema } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { Accepted, ClientMessage, CreateSessionBody, ErrorBody, SessionCreated } from "./ApiSchemas.ts"

// Effect's HttpApi derives OpenAPI from its own endpoint definitions; the session API is served by
// HttpRouter instead (an SSE route, JSON-RPC passed through untouched, the auth middleware shared with
// /mcp), so the document is assembled here from the very schemas the routes validate with.

const jsonSchema = (schema: Schema.Top) => Schema.toJsonSchemaDocument(schema).schema

const json = (schema: Schema.Top) => ({ "application/json": { schema: jsonSchema(schema) } })

const error = (description: string) => ({ description, content: json(ErrorBody) })

const sessionId = { name: "session_id", in: "path", required: true, schema: { type: "string" } } as const

const events = [
  "response: { request_id, server_id, response } (server_id null for a broadcast's merged answer)",
  "chunk: { request_id, server_id, result } (one server's part of a broadcast)",
  "notification: { server_id, notification }",
  "error: { request_id?, server_id?, error: { code, message, data? } } (request_timeout, events_lost, ...)",
  "request: { server_id, request } (a backend asks the client)",
  "heartbeat: { timestamp }",
  "closed: { reason } (client | expired | overflow | shutdown), always the last event"
]

/** The OpenAPI 3.1 document of the session API. */
export const document = {
  openapi: "3.1.0",
  info: {
    title: "MCP streaming gateway: session API",
    version: "0.1.0",
    description: "One streaming session per client over every MCP server it may use. Errors answer " +
      "{ error: { code, message } } with one status per code."
  },
  components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
  security: [{ bearer: [] }],
  paths: {
    "/gateway/stream": {
      post: {
        summary: "Create a session",
        requestBody: { required: false, content: json(CreateSessionBody) },
        responses: {
          "201": { description: "The session (partial success is success)", content: json(SessionCreated) },
          "400": error("invalid_json or invalid_request"),
          "401": error("unauthorized"),
          "403": error("forbidden: a server the client may not use (or that does not exist), or a Host or Origin refused"),
          "413": error("body_too_large"),
          "429": error("too_many_sessions")
        }
      }
    },
    "/gateway/stream/{session_id}": {
      get: {
        summary: "The session's event stream (SSE); honours Last-Event-ID",
        parameters: [sessionId, { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string" } }],
        responses: {
          "200": {
            description: `Server-sent events, each with a numeric id, an event name and JSON data:\n- ${events.join("\n- ")}`,
            content: { "text/event-stream": { schema: { type: "string" } } }
          },
          "401": error("unauthorized"),
          "403": error("forbidden: a Host or Origin refused"),
          "404": error("session_not_found (also for another client's session)")
        }
      },
      delete: {
        summary: "Close the session and release everything it holds",
        parameters: [sessionId],
        responses: {
          "204": { description: "Closed" },
          "401": error("unauthorized"),
          "403": error("forbidden: a Host or Origin refused"),
          "404": error("session_not_found")
        }
      }
    },
    "/gateway/stream/{session_id}/request": {
      post: {
        summary: "Send one JSON-RPC request or notification; the answer arrives on the stream",
        parameters: [sessionId],
        requestBody: { required: true, content: json(ClientMessage) },
        responses: {
          "202": { description: "Accepted", content: json(Accepted) },
          "400": error("invalid_json, invalid_request or ambiguous_method"),
          "401": error("unauthorized"),
          "403": error("forbidden: a server the client may not use, a task of another session's, or a Host or Origin refused"),
          "404": error("session_not_found"),
          "413": error("body_too_large"),
          "429": error("too_many_requests")
        }
      }
    }
  }
}

/** `GET /openapi.json`, public: it describes the API, not the fleet. */
export const OpenApiRoute = HttpRouter.add(
  "GET",
  "/openapi.json",
  Effect.succeed(HttpServerResponse.jsonUnsafe(document))
)
