/**
 * `/mcp`: the whole fleet as one standard MCP server, for clients of both eras (DESIGN.md, "One core, two
 * edges"). Every request passes the DNS-rebinding guards and bearer auth, has its body read once, and is
 * classified by the SDK's `classifyInboundRequest`: legacy traffic goes to its MCP session
 * (`LegacySessions`), modern requests are served one by one (`ModernRequests`).
 */
import { classifyInboundRequest, isInitializeRequest, type JSONRPCRequest } from "@modelcontextprotocol/server"
import { Duration, Effect, Schema, Stream } from "effect"
import { HttpBody, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { Config } from "../config/ConfigSchema.ts"
import { GatewayConfig } from "../config/GatewayConfig.ts"
import { Authenticator } from "../http/Auth.ts"
import { readJson } from "../http/JsonBody.ts"
import { closeWhenStalled } from "../http/StalledStreams.ts"
import * as Guards from "../http/Guards.ts"
import * as JsonRpcErrors from "./JsonRpcErrors.ts"
import { isLegacyRequest } from "./LeanRequest.ts"
import { LegacySessions } from "./LegacySessions.ts"
import { ModernRequests } from "./ModernRequests.ts"

/** The largest `/mcp` body: the SDK's own default (4 MiB). */
const maxBodyBytes = 4 * 1024 * 1024
// Built once: `readJson` derives its decoder when called, which per request cost tens of µs (bench/).
const readBody = readJson(Schema.Unknown, { maxBytes: maxBodyBytes })

const encoder = new TextEncoder()
// Node buffers the status line and headers until the first body write, and an idle GET stream may have
// nothing to write for a while: a comment first makes the client see its stream open at once.
const opening = encoder.encode(": stream open\n\n")

const unknownSession = JsonRpcErrors.errorResponse(404, JsonRpcErrors.SessionNotFound, "Session not found")

/** The web `Response` of the SDK, as the route's response; a GET stream reports its opening and end. */
const fromWeb = (response: Response, onStream?: (open: boolean) => Effect.Effect<void>) => {
  const converted = HttpServerResponse.fromWeb(response)
  const body = converted.body
  if (onStream === undefined || body._tag !== "Stream" || !body.contentType.startsWith("text/event-stream")) return converted
  const stream = Stream.concat(Stream.succeed(opening), body.stream).pipe(
    Stream.onStart(onStream(true)),
    Stream.ensuring(onStream(false))
  )
  return HttpServerResponse.setBody(converted, HttpBody.stream(stream, body.contentType))
}

/** How long a GET or listen stream may accept nothing: three keep-alives (15 s) or heartbeats, whichever is longer. */
const streamIdle = (config: Config) => Duration.seconds(3 * Math.max(15, config.streaming.heartbeatIntervalSeconds))

const header = (request: HttpServerRequest.HttpServerRequest, name: string): string | undefined => request.headers[name]

export const McpRoute = HttpRouter.add(
  "*",
  "/mcp",
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const config = yield* GatewayConfig
    const refused = Guards.refusal(config.listen, { host: header(request, "host"), origin: header(request, "origin") })
    if (refused !== undefined) return JsonRpcErrors.errorResponse(403, JsonRpcErrors.ServerError, refused)

    const client = yield* (yield* Authenticator).authenticate(header(request, "authorization")).pipe(Effect.option)
    if (client._tag === "None") {
      return JsonRpcErrors.errorResponse(401, JsonRpcErrors.ServerError, "a valid bearer token is required", {
        headers: { "www-authenticate": "Bearer" }
      })
    }

    let body: unknown = undefined
    if (request.method === "POST") {
      const read = yield* Effect.result(readBody)
      if (read._tag === "Failure") {
        return read.failure._tag === "BodyTooLarge"
          ? JsonRpcErrors.errorResponse(413, JsonRpcErrors.InvalidRequest, read.failure.message)
          : JsonRpcErrors.errorResponse(400, JsonRpcErrors.ParseError, `Parse error: ${read.failure.message}`)
      }
      body = read.success
    }

    const legacy = yield* LegacySessions
    const sessionId = header(request, "mcp-session-id")
    // The hot path: one request of an open session, served without the SDK transport (same answers, fewer steps),
    // recognised before the SDK's classification, which it would pass as legacy unchanged (LeanRequest.ts).
    const accept = header(request, "accept") ?? ""
    const acceptsBoth = accept.includes("application/json") && accept.includes("text/event-stream")
    if (sessionId !== undefined && acceptsBoth && isLegacyRequest(body, header(request, "mcp-protocol-version"))) {
      return (yield* legacy.lean(client.value, sessionId, body)) ?? unknownSession
    }

    const route = classifyInboundRequest({
      httpMethod: request.method,
      body,
      ...(header(request, "mcp-protocol-version") === undefined ? {} : { protocolVersionHeader: header(request, "mcp-protocol-version")! }),
      ...(header(request, "mcp-method") === undefined ? {} : { mcpMethodHeader: header(request, "mcp-method")! }),
      ...(header(request, "mcp-name") === undefined ? {} : { mcpNameHeader: header(request, "mcp-name")! })
    })
    if (route.kind === "reject") {
      return JsonRpcErrors.errorResponse(route.httpStatus, route.code, route.message, {
        id: typeof body === "object" && body !== null && "id" in body ? (body as JSONRPCRequest).id : null
      })
    }
    if (route.kind === "modern") {
      if (route.message.method === "subscriptions/listen") yield* closeWhenStalled(streamIdle(config))
      return yield* (yield* ModernRequests).handle(client.value, route.message, request.headers)
    }

    // GET streams are the gateway's own (bounded): a lean answer stream resumed, or the session's GET stream.
    // A GET resuming a stream of the transport's (a POST answered through it) is the transport's to replay.
    const lastEventId = header(request, "last-event-id")
    if (request.method === "GET" && sessionId !== undefined) {
      yield* closeWhenStalled(streamIdle(config))
      if (!(header(request, "accept") ?? "").includes("text/event-stream")) {
        return JsonRpcErrors.errorResponse(406, JsonRpcErrors.InvalidRequest, "Not Acceptable: Client must accept text/event-stream")
      }
      if (lastEventId?.startsWith("lean-") === true) {
        return (yield* legacy.resumeLean(client.value, sessionId, lastEventId)) ?? unknownSession
      }
      if (lastEventId === undefined || lastEventId.startsWith("get/")) {
        return (yield* legacy.openGet(client.value, sessionId, lastEventId)) ?? unknownSession
      }
    }
    const web = yield* HttpServerRequest.toWeb(request).pipe(Effect.orDie)
    if (sessionId === undefined) {
      if (request.method === "POST" && isInitializeRequest(body)) {
        return fromWeb(yield* legacy.initialize(client.value, web, body, body as unknown as JSONRPCRequest))
      }
      return JsonRpcErrors.errorResponse(400, JsonRpcErrors.InvalidRequest, "Bad Request: Mcp-Session-Id header is required")
    }
    const response = yield* legacy.handle(client.value, sessionId, web, body)
    if (response === undefined) return unknownSession
    return fromWeb(response, request.method === "GET" ? (open) => legacy.streamOpen(sessionId, open) : undefined)
  })
)
