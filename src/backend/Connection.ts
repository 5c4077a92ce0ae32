import {
  Client,
  type JSONRPCMessage,
  type PriorDiscovery,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  type ServerCapabilities,
  SSEClientTransport,
  SseError,
  StreamableHTTPClientTransport,
  type Transport
} from "@modelcontextprotocol/client"
import { Deferred, Effect, Exit, Scope } from "effect"
import { BackendStartFailed } from "./BackendErrors.ts"
import { clientCapabilities, clientInfo } from "./GatewayIdentity.ts"
import { ProcessGroupStdioTransport } from "./ProcessGroupStdioTransport.ts"
import type { GroupTracker } from "./Watchdog.ts"

/** Where a backend lives and how to reach it. */
export type Endpoint =
  | {
    readonly kind: "stdio"
    readonly command: string
    readonly args: ReadonlyArray<string>
    readonly env: Readonly<Record<string, string>>
    readonly cwd?: string | undefined
  }
  | {
    readonly kind: "streamable-http" | "sse"
    readonly url: string
    readonly headers: Readonly<Record<string, string>>
  }

export type Era = "legacy" | "modern"

/** What the handshake learnt about the server; kept for the session's `servers` answer and `/healthz`. */
export interface ServerInfo {
  readonly era: Era
  readonly protocolVersion: string
  readonly capabilities: ServerCapabilities
  readonly serverInfo: { readonly name: string; readonly version: string; readonly title?: string | undefined }
  readonly instructions?: string | undefined
}

/** The transport's callbacks once the gateway owns it (after the handshake). */
export interface Handlers {
  readonly onMessage: (message: JSONRPCMessage) => void
  /** Transport errors, already judged: `fatal` ones close the connection (the backend then restarts it). */
  readonly onError: (error: Error, fatal: boolean) => void
  readonly onStderrLine: (line: string) => void
}

/** A transport that completed its handshake; the gateway now sends raw JSON-RPC through it. */
export interface Connection {
  readonly info: ServerInfo
  readonly transport: Transport
  /** The verdict to reuse on the next connect, so the era probe runs once per backend. */
  readonly verdict: PriorDiscovery
  readonly pid: number | undefined
  /** Completes when this connection's transport has closed (the process died, the stream broke, or we closed it). */
  readonly closed: Effect.Effect<void>
}

export interface ConnectOptions {
  readonly serverId: string
  readonly endpoint: Endpoint
  /** A cached era verdict; without one the backend is probed with `server/discover`. */
  readonly prior: PriorDiscovery | undefined
  readonly handshakeTimeoutMillis: number
  readonly tracker: GroupTracker
  readonly handlers: Handlers
}

/**
 * `fetch` for a Streamable HTTP backend that keeps its HTTP 400s. The SDK's transport hands a modern-era request's
 * 400 on as a plain message when its body is that request's JSON-RPC error (its `Client` wants just that), and the
 * status is lost: a gateway must answer its own client with the same 400 (the spec gives it a meaning). Once the
 * gateway owns the transport (`owned`), a 400 fails the send as the SDK fails every other refusal, with the status
 * and the body, and the backend reports it as a refusal. The handshake (the era probe) still sees the SDK's own way.
 */
const keepingRefusals = (owned: () => boolean): typeof fetch => async (input, init) => {
  const response = await fetch(input, init)
  if (response.status !== 400 || !owned()) return response
  const text = await response.text().catch(() => null)
  throw new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, `Error POSTing to endpoint: ${text}`, {
    status: response.status,
    statusText: response.statusText,
    text
  })
}

const makeTransport = (options: ConnectOptions, owned: () => boolean): Transport => {
  const endpoint = options.endpoint
  switch (endpoint.kind) {
    case "stdio":
      return new ProcessGroupStdioTransport({
        command: endpoint.command,
        args: endpoint.args,
        env: endpoint.env,
        cwd: endpoint.cwd,
        tracker: options.tracker,
        onStderrLine: options.handlers.onStderrLine
      })
    case "streamable-http":
      return new StreamableHTTPClientTransport(new URL(endpoint.url), {
        requestInit: { headers: { ...endpoint.headers } },
        fetch: keepingRefusals(owned)
      })
    case "sse":
      return new SSEClientTransport(new URL(endpoint.url), { requestInit: { headers: { ...endpoint.headers } } })
  }
}

/** A connect that failed because the cached verdict (or the probe) no longer fits the server. */
const isEraFailure = (error: unknown) => error instanceof SdkError && error.code === SdkErrorCode.EraNegotiationFailed

/** The server answered, but refused the handshake (a protocol-level refusal, not a spawn or network error). */
const isRefusal = (error: unknown) => error instanceof SdkError || error instanceof ProtocolError

/**
 * A POST the legacy SSE server refused for the connection's sake, not the request's: its credentials no longer
 * pass (401, 403), or it no longer knows the session (404, e.g. behind a balancer that is not sticky).
 */
const refusesConnection = /^Error POSTing to endpoint \(HTTP (401|403|404)\)/

/**
 * Which transport errors end the connection. The legacy SSE transport has one stream: when it breaks (an `SseError`),
 * its EventSource reconnects into a new, never-initialized session, so the gateway must reconnect itself; so does a
 * POST refused for the connection's sake. Its other errors are one POST the server refused (that request fails on
 * its own) or one message it could not read: the connection, and every session's calls on it, go on. The Streamable HTTP transport gives up its GET stream after its
 * own retries and says so only here.
 */
const isFatal = (endpoint: Endpoint, error: Error) =>
  (endpoint.kind === "sse" && (error instanceof SseError || refusesConnection.test(error.message))) ||
  (endpoint.kind === "streamable-http" && /maximum reconnection attempts/i.test(error.message))

/** Error text for logs and health: the cause's message only, never the config (which holds secrets). */
export const describe = (error: unknown): string => error instanceof Error ? error.message : String(error)

/**
 * Opens a transport and runs the handshake with the SDK's own `Client` (era probe with `server/discover`,
 * else the legacy `initialize` with version negotiation), then takes the transport over: from then on the
 * gateway owns the JSON-RPC ids and forwards any method. The transport is closed with the scope.
 */
export const connect = Effect.fnUntraced(function*(options: ConnectOptions) {
  const attempt = (prior: PriorDiscovery | undefined) =>
    Effect.gen(function*() {
      let owned = false
      const transport = yield* Effect.acquireRelease(
        Effect.sync(() => makeTransport(options, () => owned)),
        (transport) => Effect.promise(() => transport.close().catch(() => undefined))
      )
      // Set before the handshake: the SDK's Client chains them, so a close during the handshake is not missed.
      const onError = (error: Error) => {
        const fatal = isFatal(options.endpoint, error)
        options.handlers.onError(error, fatal)
        if (fatal) void transport.close().catch(() => undefined)
      }
      // One per attempt: a failed attempt's transport closing must not end the next attempt's connection.
      const closed = Deferred.makeUnsafe<void>()
      const onClose = () => Deferred.doneUnsafe(closed, Exit.void)
      transport.onclose = onClose
      transport.onerror = onError
      const client = new Client(clientInfo, {
        capabilities: clientCapabilities,
        versionNegotiation: { mode: "auto", probe: { timeoutMs: options.handshakeTimeoutMillis } }
      })
      yield* Effect.tryPromise({
        try: () =>
          client.connect(transport, {
            timeout: options.handshakeTimeoutMillis,
            ...(prior === undefined ? {} : { prior })
          }).then(() => {
            // Same microtask as the handshake's end: no message can slip in between the SDK's
            // handlers and ours. The Client is dropped; the transport is ours from here on.
            transport.onmessage = options.handlers.onMessage
            transport.onclose = onClose
            transport.onerror = onError
            owned = true
          }),
        catch: (error) => error
      }).pipe(
        // The SDK's timeout covers requests, not `start()`: an SSE server that never sends its endpoint
        // event would otherwise keep the backend "starting" forever.
        Effect.timeoutOrElse({
          duration: options.handshakeTimeoutMillis,
          orElse: () => Effect.fail(new Error(`no handshake within ${options.handshakeTimeoutMillis} ms`))
        })
      )
      const era: Era = client.getProtocolEra() ?? "legacy"
      const discover = client.getDiscoverResult()
      const serverInfo = client.getServerVersion() ?? { name: options.serverId, version: "unknown" }
      const info: ServerInfo = {
        era,
        protocolVersion: client.getNegotiatedProtocolVersion() ?? "unknown",
        capabilities: client.getServerCapabilities() ?? {},
        serverInfo: { name: serverInfo.name, version: serverInfo.version, title: serverInfo.title },
        instructions: client.getInstructions()
      }
      const verdict: PriorDiscovery = era === "modern" && discover !== undefined
        ? { kind: "modern", discover }
        : { kind: "legacy" }
      const pid = transport instanceof ProcessGroupStdioTransport ? transport.pid ?? undefined : undefined
      return { info, transport, verdict, pid, closed: Deferred.await(closed) } satisfies Connection
    })

  const scope = yield* Effect.scope
  // Each attempt gets a scope of its own, closed at once if it fails, so a failed try leaves no process.
  const once = (prior: PriorDiscovery | undefined) =>
    Effect.gen(function*() {
      const child = yield* Scope.fork(scope)
      return yield* attempt(prior).pipe(
        Scope.provide(child),
        Effect.onError(() => Scope.close(child, Exit.void))
      )
    })
  return yield* once(options.prior).pipe(
    Effect.catch((error) =>
      options.prior !== undefined && isRefusal(error)
        // The cached verdict no longer fits (the server changed): probe afresh.
        ? once(undefined)
        : isEraFailure(error)
        // The server closed on the unknown `server/discover` (some SDKs end on any request before
        // `initialize`): it speaks the legacy era.
        ? once({ kind: "legacy" })
        : Effect.fail(error)
    ),
    Effect.mapError((error) => new BackendStartFailed({ serverId: options.serverId, reason: describe(error) }))
  )
})
