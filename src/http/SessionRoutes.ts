import { Duration, Effect, Layer, Schema, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { GatewayConfig } from "../config/GatewayConfig.ts"
import { SessionManager } from "../session/SessionManager.ts"
import * as JsonRpc from "../protocol/JsonRpc.ts"
import { Accepted, CreateSessionBody, SessionCreated } from "./ApiSchemas.ts"
import { Auth, CurrentClient } from "./Auth.ts"
import { withErrorResponses } from "./ErrorResponse.ts"
import { RebindingGuard } from "./Guards.ts"
import { InvalidRequest } from "./HttpErrors.ts"
import { readJson } from "./JsonBody.ts"
import { closeWhenStalled } from "./StalledStreams.ts"

const SessionPath = Schema.Struct({ session_id: Schema.String })

/** `Last-Event-ID`: a session event id. Anything else is ignored, as if the client had not sent one. */
const lastEventId = (header: string | undefined): number | undefined => {
  if (header === undefined || !/^\d{1,15}$/.test(header)) return undefined
  return Number(header)
}

const encoder = new TextEncoder()
// Node buffers the status line and headers until the first body write; an SSE comment sends them at once,
// so a client sees its stream open before the first event (which may be a heartbeat 30 s later).
const opening = encoder.encode(": stream open\n\n")

/**
 * Every frame ready at once goes out in one write: under a flood one socket write per event was the largest
 * cost (bench/), and a lone event is still written the moment it arrives.
 */
const toBytes = (batch: ReadonlyArray<string>): readonly [Uint8Array] =>
  [encoder.encode(batch.length === 1 ? batch[0]! : batch.join(""))]

const sseHeaders = {
  "cache-control": "no-cache, no-store, no-transform",
  // nginx and similar proxies would otherwise buffer the stream.
  "x-accel-buffering": "no"
}

// Built once: `readJson` derives the schema's JSON decoder when called, which per request was a third of a
// call's CPU at the HTTP edge (bench/).
const readCreateSession = readJson(CreateSessionBody, { optional: true })
// Decoded as the kind of message its keys say it is (JsonRpc.Message), so an error names the field that is wrong;
// ClientMessage, the plain union of the four kinds, documents the body at /openapi.json.
const readClientMessage = readJson(JsonRpc.Message)

const sessionId = HttpRouter.schemaPathParams(SessionPath).pipe(
  Effect.map((path) => path.session_id),
  Effect.mapError(InvalidRequest.fromSchemaError)
)

const CreateSession = HttpRouter.add(
  "POST",
  "/gateway/stream",
  Effect.gen(function*() {
    const client = yield* CurrentClient
    const body = yield* readCreateSession
    const { session, servers } = yield* (yield* SessionManager).create(client, body?.servers, body?.capabilities)
    const base = `/gateway/stream/${session.id}`
    const created: typeof SessionCreated.Type = { session_id: session.id, stream_url: base, request_url: `${base}/request`, servers }
    return HttpServerResponse.jsonUnsafe(created, { status: 201 })
  }).pipe(withErrorResponses)
)

const OpenStream = HttpRouter.add(
  "GET",
  "/gateway/stream/:session_id",
  Effect.gen(function*() {
    const client = yield* CurrentClient
    const session = yield* (yield* SessionManager).get(client, yield* sessionId)
    const request = yield* HttpServerRequest.HttpServerRequest
    // Heartbeats keep a healthy stream writing: three missed ones mean its client stopped reading.
    yield* closeWhenStalled(Duration.seconds(3 * (yield* GatewayConfig).streaming.heartbeatIntervalSeconds))
    const frames = session.frames(lastEventId(request.headers["last-event-id"]))
    return HttpServerResponse.stream(Stream.concat(Stream.succeed(opening), Stream.mapArray(frames, toBytes)), {
      contentType: "text/event-stream",
      headers: sseHeaders
    })
  }).pipe(withErrorResponses)
)

const PostRequest = HttpRouter.add(
  "POST",
  "/gateway/stream/:session_id/request",
  Effect.gen(function*() {
    const client = yield* CurrentClient
    const session = yield* (yield* SessionManager).get(client, yield* sessionId)
    const message = yield* readClientMessage
    const accepted: typeof Accepted.Type = yield* session.submit(JsonRpc.toSdkMessage(message))
    return HttpServerResponse.jsonUnsafe(accepted, { status: 202 })
  }).pipe(withErrorResponses)
)

const DeleteSession = HttpRouter.add(
  "DELETE",
  "/gateway/stream/:session_id",
  Effect.gen(function*() {
    const client = yield* CurrentClient
    yield* (yield* SessionManager).close(client, yield* sessionId)
    return HttpServerResponse.empty({ status: 204 })
  }).pipe(withErrorResponses)
)

/** The streaming session API (DESIGN.md), every route behind the rebinding guard, then bearer auth. */
export const SessionRoutes = Layer.mergeAll(CreateSession, OpenStream, PostRequest, DeleteSession).pipe(
  Layer.provide(Auth.layer),
  Layer.provide(RebindingGuard.layer)
)
