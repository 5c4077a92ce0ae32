/**
 * Client library of the gateway's streaming session API (`/gateway/stream`, docs/session-api.md), for Node >= 20
 * and evergreen browsers, with no dependencies: `fetch`, `ReadableStream`, `TextDecoder`, `EventTarget`,
 * `AbortController` and `setTimeout` only.
 *
 * ```ts
 * const client = new GatewayClient("http://127.0.0.1:3625", { token })
 * const session = await client.createSession({ servers: ["everything"] })
 *
 * session.addEventListener("notification", (e) => console.log(e.detail.server_id, e.detail.notification))
 * // A backend asks the client something (sampling, elicitation, roots): answer with the request's id.
 * session.addEventListener("request", (e) => {
 *   const { id, method } = e.detail.request
 *   void (method === "sampling/createMessage"
 *     ? session.respond(id, { role: "assistant", content: { type: "text", text: "hi" }, model: "m" })
 *     : session.respond(id, { error: { code: -32601, message: `${method} is not supported` } }))
 * })
 *
 * const { tools } = await session.listTools()             // every server's tools, names namespaced
 * const result = await session.callTool("everything__echo", { message: "hello" })
 * const raw = await session.request("everything__ping", {}, { timeoutMs: 5000 })  // any method, by server
 * await session.close()                                     // DELETE; `closed` is the last event
 * ```
 *
 * The stream reconnects by itself with `Last-Event-ID` (events missed meanwhile are replayed; `reconnecting`
 * tells when, and an `error` event with code `events_lost` when the gateway no longer had some). Requests are
 * settled by the stream event carrying the `request_id` the gateway gave them, and reject with typed errors:
 * `JsonRpcError`, `GatewayEventError`, `RequestTimeoutError`, `SessionClosedError`, `GatewayHttpError`,
 * `GatewayNetworkError`.
 */
export { type CreateSessionOptions, GatewayClient, type GatewayClientOptions } from "./GatewayClient.ts"
export {
  type Answer,
  GatewayEvent,
  GatewaySession,
  type GatewaySessionEventMap,
  type ReconnectingDetail,
  type ReconnectOptions,
  type RequestOptions,
  type SessionOptions,
  type StreamErrorDetail
} from "./GatewaySession.ts"
export {
  GatewayClientError,
  GatewayEventError,
  GatewayHttpError,
  GatewayNetworkError,
  JsonRpcError,
  RequestTimeoutError,
  SessionClosedError
} from "./ClientErrors.ts"
export type { FetchLike } from "./Http.ts"
export { BROADCAST_METHODS, type BroadcastMethod, namespaced, parseNamespaced, SEPARATOR } from "./Namespacing.ts"
export type * from "./Protocol.ts"
export { type SseEvent, SseParser, type SseParserHandlers } from "./SseParser.ts"
