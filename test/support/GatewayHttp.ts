import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, Stream } from "effect"
import { Sse } from "effect/encoding"
import { HttpClient, HttpClientRequest, HttpClientResponse, HttpServer } from "effect/http"
import * as ConfigLoader from "../../src/config/ConfigLoader.ts"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Gateway from "../../src/Gateway.ts"

/** The whole gateway (real backends, real routes) on a test HTTP server; `HttpClient` reaches it. */
export const gatewayLayer = (file: ConfigFile) =>
  Layer.unwrap(
    ConfigLoader.decode(file, { source: "test config", env: {} }).pipe(
      Effect.orDie,
      Effect.map((config) => Gateway.serve(config))
    )
  ).pipe(Layer.provideMerge(NodeHttpServer.layerTest))

/** The test server's address as a URL (`http://127.0.0.1:<port><path>`), for clients other than Effect's HttpClient. */
export const serverUrl = (path = "") =>
  Effect.gen(function*() {
    const address = (yield* HttpServer.HttpServer).address
    return new URL(`http://127.0.0.1:${"port" in address ? address.port : 0}${path}`)
  })

/** What `postMcp` gives back: the status, the headers, and the body as text. */
export interface McpReply {
  readonly status: number
  readonly headers: Headers
  readonly sessionId: string | undefined
  readonly text: string
}

/**
 * A raw POST of `body` (JSON, or a string sent as it is) to the test server's `/mcp`, accepting JSON and SSE as
 * MCP clients must: for what an SDK client would never send. `headers` add to (or replace) the defaults.
 */
export const postMcp = (body: unknown, headers: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const url = yield* serverUrl("/mcp")
    const response = yield* Effect.promise(() =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body)
      })
    )
    const text = yield* Effect.promise(() => response.text())
    return { status: response.status, headers: response.headers, sessionId: response.headers.get("mcp-session-id") ?? undefined, text } satisfies McpReply
  })

/** The headers of a request in the legacy MCP session `sessionId`, with a bearer token. */
export const legacySessionHeaders = (token: string, sessionId?: string): Record<string, string> => ({
  authorization: `Bearer ${token}`,
  ...(sessionId === undefined ? {} : { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" })
})

export interface Reply {
  readonly status: number
  readonly body: unknown
}

/** One HTTP exchange; the body is parsed as JSON when there is one. */
export const send = (
  method: "GET" | "POST" | "DELETE",
  path: string,
  options: {
    readonly token?: string
    readonly body?: unknown
    readonly raw?: string
    readonly headers?: Readonly<Record<string, string>>
  } = {}
) =>
  Effect.gen(function*() {
    let request = HttpClientRequest.make(method)(path)
    if (options.headers !== undefined) request = HttpClientRequest.setHeaders(request, options.headers)
    if (options.token !== undefined) request = HttpClientRequest.bearerToken(request, options.token)
    if (options.raw !== undefined) request = HttpClientRequest.bodyText(request, options.raw, "application/json")
    else if (options.body !== undefined) request = HttpClientRequest.bodyJsonUnsafe(request, options.body)
    const response = yield* HttpClient.execute(request)
    const text = yield* response.text
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text) } satisfies Reply
  }).pipe(Effect.orDie)

export interface Event {
  readonly id: number
  readonly event: string
  readonly data: any
}

/** A session's SSE stream, parsed with Effect's SSE decoder. */
export const events = (path: string, token: string, lastEventId?: number) =>
  Effect.gen(function*() {
    let request = HttpClientRequest.bearerToken(HttpClientRequest.get(path), token)
    if (lastEventId !== undefined) request = HttpClientRequest.setHeader(request, "last-event-id", String(lastEventId))
    const response = yield* HttpClient.execute(request)
    return response
  }).pipe(
    Effect.map((response) => ({
      status: response.status,
      headers: response.headers,
      events: HttpClientResponse.stream(Effect.succeed(response)).pipe(
        Stream.decodeText,
        Stream.pipeThroughChannel(Sse.decode()),
        Stream.map((event): Event => ({ id: Number(event.id), event: event.event, data: JSON.parse(event.data) })),
        Stream.orDie
      )
    })),
    Effect.orDie
  )

/** A sampling result with `text`, as a client would answer a backend's `sampling/createMessage`. */
export const sampled = (text: string) => ({ role: "assistant", content: { type: "text", text }, model: "test-model" })

/**
 * Reads a session's events in the background, answering every `request` event (a backend asking the client)
 * with `result`, until an event satisfies `until` (by default the first `response`). Each answer must be
 * accepted (202).
 */
export const answeringUntil = (
  session: { readonly request_url: string },
  stream: Stream.Stream<Event>,
  token: string,
  result: unknown,
  until: (event: Event) => boolean = (event) => event.event === "response"
) =>
  stream.pipe(
    Stream.tap((event) =>
      event.event === "request"
        ? send("POST", session.request_url, { token, body: { jsonrpc: "2.0", id: event.data.request.id, result } }).pipe(
          Effect.flatMap((reply) =>
            reply.status === 202 ? Effect.void : Effect.die(`an answer was refused: ${JSON.stringify(reply)}`)
          )
        )
        : Effect.void
    ),
    Stream.takeUntil(until),
    Stream.runCollect,
    Effect.timeout("20 seconds"),
    Effect.forkChild({ startImmediately: true })
  )
