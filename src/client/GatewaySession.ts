/**
 * One session of the gateway's streaming API: its SSE stream read through `fetch`, reconnected with
 * `Last-Event-ID`, and the requests posted to it, each settled by the stream event that carries its `request_id`.
 */
import {
  GatewayEventError,
  GatewayHttpError,
  JsonRpcError,
  RequestTimeoutError,
  SessionClosedError
} from "./ClientErrors.ts"
import type { Http } from "./Http.ts"
import type {
  Accepted,
  CallToolResult,
  CloseReason,
  EventData,
  EventName,
  JsonRpcErrorObject,
  JsonRpcId,
  ListToolsResult,
  ServerSummary,
  SessionCreated
} from "./Protocol.ts"
import { type SseEvent, SseParser } from "./SseParser.ts"

/** A stream event: `detail` is the event's data, `id` its number in the session (what `Last-Event-ID` resumes from). */
export class GatewayEvent<K extends EventName = EventName> extends CustomEvent<EventData[K]> {
  readonly id: number

  constructor(type: K, data: EventData[K], id: number) {
    super(type, { detail: data })
    this.id = id
  }
}

/** `reconnecting`: the stream dropped (or could not be opened) and is opened again after `delayMs`. */
export interface ReconnectingDetail {
  /** 1 for the first attempt since the stream last delivered an event. */
  readonly attempt: number
  readonly delayMs: number
  /** What the next GET sends as `Last-Event-ID`: the last event's id (`"0"` before the first event). */
  readonly lastEventId: string | undefined
  readonly cause: unknown
}

/** `stream-error`: the stream failed or sent something unreadable. */
export interface StreamErrorDetail {
  readonly error: unknown
  /** false when the session is over: its stream was refused for good (401, 403, 404) or attempts ran out. */
  readonly willReconnect: boolean
}

/** The events a session dispatches, for `addEventListener`. */
export interface GatewaySessionEventMap {
  readonly response: GatewayEvent<"response">
  readonly chunk: GatewayEvent<"chunk">
  readonly notification: GatewayEvent<"notification">
  readonly error: GatewayEvent<"error">
  readonly request: GatewayEvent<"request">
  readonly heartbeat: GatewayEvent<"heartbeat">
  readonly closed: GatewayEvent<"closed">
  readonly reconnecting: CustomEvent<ReconnectingDetail>
  readonly "stream-error": CustomEvent<StreamErrorDetail>
}

export interface ReconnectOptions {
  /** Delay before the first reconnect, unless the gateway set one with `retry:`. Default 1000. */
  readonly initialDelayMs?: number
  /** Ceiling of the exponential backoff. Default 30000. */
  readonly maxDelayMs?: number
  /** Attempts in a row without an event before the session is given up. Default: no limit. */
  readonly maxAttempts?: number
  /**
   * A stream that brings nothing (not even the gateway's heartbeat) for this long is taken for dead (a sleeping
   * laptop, a NAT that forgot the connection) and reopened with `Last-Event-ID`. Default 90000: three of the
   * gateway's default heartbeat intervals. 0 turns it off.
   */
  readonly idleTimeoutMs?: number
}

export interface SessionOptions {
  /** Default `timeoutMs` of `request()`. Default: none (the gateway ends a request with `request_timeout`). */
  readonly requestTimeoutMs?: number
  readonly reconnect?: ReconnectOptions
}

export interface RequestOptions {
  /** Reject with {@link RequestTimeoutError} after this long, and ask the gateway to cancel the request. */
  readonly timeoutMs?: number
}

/** `respond()`'s answer: a result, or a JSON-RPC error. */
export type Answer = unknown | { readonly error: JsonRpcErrorObject }

type Listener<E> = ((event: E) => void) | { handleEvent(event: E): void }

interface Pending {
  readonly id: JsonRpcId
  readonly method: string
  readonly resolve: (result: unknown) => void
  readonly reject: (error: unknown) => void
  timer: ReturnType<typeof setTimeout> | undefined
  requestId: string | undefined
  done: boolean
}

type Settling = GatewayEvent<"response"> | GatewayEvent<"error">

// The session is not the caller's (or no longer exists): reopening its stream cannot succeed.
const finalStatuses = new Set([401, 403, 404, 410])

const isErrorAnswer = (answer: unknown): answer is { readonly error: JsonRpcErrorObject } => {
  if (typeof answer !== "object" || answer === null || Object.keys(answer).length !== 1 || !("error" in answer)) {
    return false
  }
  const error = answer.error
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "number" &&
    "message" in error && typeof error.message === "string"
}

const wait = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal.addEventListener("abort", done, { once: true })
    function done() {
      clearTimeout(timer)
      signal.removeEventListener("abort", done)
      resolve()
    }
  })

/**
 * A session: an `EventTarget` of the stream's events (typed by {@link GatewaySessionEventMap}) and promise methods
 * that post to it. Made by `GatewayClient.createSession`.
 */
export class GatewaySession extends EventTarget {
  /** The gateway's session id. */
  readonly id: string
  /** The session's servers, as `createSession` reported them (partial success is success). */
  readonly servers: ReadonlyArray<ServerSummary>

  readonly #http: Http
  readonly #created: SessionCreated
  readonly #options: SessionOptions
  readonly #parser: SseParser = new SseParser({
    onEvent: (event) => this.#onSse(event),
    onRetry: (ms) => {
      this.#retryMs = ms
    }
  })
  #retryMs: number | undefined
  #nextId = 1
  /** Requests posted, by the `request_id` the gateway gave them. */
  readonly #byRequestId = new Map<string, Pending>()
  readonly #pending = new Set<Pending>()
  /**
   * Events for a `request_id` not known yet: the answer can reach the stream before the POST's 202 does. Kept only
   * while a POST is in flight, and taken out by the POST it answers, so nothing accumulates.
   */
  readonly #early = new Map<string, Settling>()
  #posting = 0
  /** The open stream's reader, cancelled when the session ends. */
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  /** Stops the open connection's idle timer and unhooks it from the session's end. */
  #connectionCleanup: (() => void) | undefined
  #eventsThisConnection = 0
  #closedReason: CloseReason | "stream_failed" | undefined
  #closedCause: unknown
  /** No more reconnects: `close()` was called or the gateway sent `closed`. */
  #ending = false
  /** Aborts the current GET and any backoff wait. */
  readonly #stop = new AbortController()
  #loop: Promise<void> = Promise.resolve()
  #closing: Promise<void> | undefined

  private constructor(http: Http, created: SessionCreated, options: SessionOptions) {
    super()
    this.#http = http
    this.#created = created
    this.#options = options
    this.id = created.session_id
    this.servers = created.servers
  }

  /**
   * @internal Opens the stream of a session just created; resolves once the gateway has accepted the GET.
   * Use `GatewayClient.createSession`.
   */
  static async open(http: Http, created: SessionCreated, options: SessionOptions): Promise<GatewaySession> {
    const session = new GatewaySession(http, created, options)
    await new Promise<void>((resolve, reject) => {
      session.#loop = session.#run(resolve, reject)
    })
    return session
  }

  /** The `Last-Event-ID` a reconnect sends: the id of the last event received. */
  get lastEventId(): string | undefined {
    return this.#parser.lastEventId === "" ? undefined : this.#parser.lastEventId
  }

  /** Why the session ended, once it has. */
  get closedReason(): CloseReason | "stream_failed" | undefined {
    return this.#closedReason
  }

  // ===========================================================================
  // Requests
  // ===========================================================================

  /**
   * Sends a JSON-RPC request and resolves with its result. Rejects with {@link JsonRpcError} (the server's error),
   * {@link GatewayEventError} (the gateway's `error` event for it), {@link RequestTimeoutError},
   * {@link SessionClosedError}, or {@link GatewayHttpError} (the POST was refused).
   */
  async request<R = unknown>(
    method: string,
    params?: Record<string, unknown>,
    options: RequestOptions = {}
  ): Promise<R> {
    this.#assertOpen()
    const id = this.#nextId++
    const timeoutMs = options.timeoutMs ?? this.#options.requestTimeoutMs
    const result = new Promise<unknown>((resolve, reject) => {
      const pending: Pending = { id, method, resolve, reject, timer: undefined, requestId: undefined, done: false }
      this.#pending.add(pending)
      if (timeoutMs !== undefined) {
        pending.timer = setTimeout(() => this.#timeOut(pending, timeoutMs), timeoutMs)
      }
      void this.#submit(pending, { jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) })
    })
    // The caller names the result type: the gateway's answer is whatever the server sent.
    return result as Promise<R>
  }

  /** Sends a JSON-RPC notification (no answer comes). */
  async notify(method: string, params?: Record<string, unknown>): Promise<void> {
    this.#assertOpen()
    await this.#http.postJson(this.#created.request_url, {
      jsonrpc: "2.0",
      method,
      ...(params === undefined ? {} : { params })
    }, 202)
  }

  /**
   * Answers a backend's `request` event (`sampling/createMessage`, `elicitation/create`, `roots/list`) with the
   * event's `request.id`: a result, or `{ error: { code, message, data? } }` (an object with that one key).
   */
  async respond(id: JsonRpcId, answer: Answer): Promise<void> {
    this.#assertOpen()
    const message = isErrorAnswer(answer)
      ? { jsonrpc: "2.0", id, error: answer.error }
      : { jsonrpc: "2.0", id, result: answer }
    await this.#http.postJson(this.#created.request_url, message, 202)
  }

  /** `tools/call` of a namespaced tool (`everything__echo`). A progress token asks for `notifications/progress`. */
  callTool(
    name: string,
    args: Record<string, unknown> = {},
    options: RequestOptions & { readonly progressToken?: string | number } = {}
  ): Promise<CallToolResult> {
    const meta = options.progressToken === undefined ? {} : { _meta: { progressToken: options.progressToken } }
    return this.request<CallToolResult>("tools/call", { name, arguments: args, ...meta }, options)
  }

  /** `tools/list` of every server of the session, merged and namespaced; servers that failed are in `errors`. */
  listTools(options: RequestOptions = {}): Promise<ListToolsResult> {
    return this.request<ListToolsResult>("tools/list", undefined, options)
  }

  /**
   * Closes the session (`DELETE`): the gateway sends `closed` and ends the stream; the client does not reconnect.
   * Requests still waiting reject with {@link SessionClosedError}. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#ending = true
    let failure: unknown
    // The gateway still holds the session unless it said `closed` (a stream that failed on this side leaves it
    // open there, holding one of the client's session slots).
    if (this.#closedReason === undefined || this.#closedReason === "stream_failed") {
      try {
        const response = await this.#http.send(this.#created.stream_url, { method: "DELETE" })
        // 404: the session had already ended (expired, say): it is closed all the same.
        if (response.status !== 204 && response.status !== 404) failure = await GatewayHttpError.fromResponse(response)
      } catch (error) {
        failure = error
      }
      if (failure === undefined && this.#closedReason === undefined) {
        // The gateway's `closed` event ends the stream; give it a moment to arrive before hanging up.
        await Promise.race([this.#loop, wait(2000, this.#stop.signal)])
      }
    }
    this.#finish("client")
    await this.#loop
    if (failure !== undefined) throw failure
  }

  async #submit(pending: Pending, message: Record<string, unknown>): Promise<void> {
    this.#posting++
    try {
      const accepted = await this.#http.postJson(this.#created.request_url, message, 202) as Accepted
      if (accepted.request_id === null || pending.done) return
      pending.requestId = accepted.request_id
      this.#byRequestId.set(accepted.request_id, pending)
      const early = this.#early.get(accepted.request_id)
      if (early !== undefined) {
        this.#early.delete(accepted.request_id)
        this.#settle(pending, early)
      }
    } catch (error) {
      this.#end(pending, { error })
    } finally {
      this.#posting--
      if (this.#posting === 0) this.#early.clear()
    }
  }

  #timeOut(pending: Pending, timeoutMs: number): void {
    this.#end(pending, { error: new RequestTimeoutError(pending.method, timeoutMs) })
    // Nobody waits for the answer any more: let the gateway stop the backend's work.
    this.notify("notifications/cancelled", { requestId: pending.id, reason: "client timeout" }).catch(() => {})
  }

  #settle(pending: Pending, event: Settling): void {
    if (event.type === "error") {
      const data = (event as GatewayEvent<"error">).detail
      return this.#end(pending, { error: new GatewayEventError(data.error, data.server_id) })
    }
    const data = (event as GatewayEvent<"response">).detail
    const response = data.response
    if ("error" in response) this.#end(pending, { error: new JsonRpcError(response.error, data.server_id) })
    else this.#end(pending, { result: response.result })
  }

  #end(pending: Pending, outcome: { readonly result: unknown } | { readonly error: unknown }): void {
    if (pending.done) return
    pending.done = true
    clearTimeout(pending.timer)
    this.#pending.delete(pending)
    if (pending.requestId !== undefined) this.#byRequestId.delete(pending.requestId)
    if ("error" in outcome) pending.reject(outcome.error)
    else pending.resolve(outcome.result)
  }

  #assertOpen(): void {
    if (this.#closedReason !== undefined || this.#ending) {
      throw new SessionClosedError(this.#closedReason ?? "client", { cause: this.#closedCause })
    }
  }

  /** The session is over: stop reading, and fail whatever still waits. */
  #finish(reason: CloseReason | "stream_failed", cause?: unknown): void {
    this.#ending = true
    if (this.#closedReason === undefined) {
      this.#closedReason = reason
      this.#closedCause = cause
    }
    this.#stop.abort()
    // Not every fetch ties a body to its signal: cancelling the reader stops the read either way.
    this.#reader?.cancel().catch(() => {})
    for (const pending of [...this.#pending]) {
      this.#end(pending, { error: new SessionClosedError(this.#closedReason, { cause: this.#closedCause }) })
    }
  }

  // ===========================================================================
  // The stream
  // ===========================================================================

  /** Reads the stream until the session ends, reconnecting in between. Never rejects. */
  async #run(opened: () => void, failedToOpen: (error: unknown) => void): Promise<void> {
    let first = true
    let attempt = 0
    while (!this.#stop.signal.aborted) {
      let cause: unknown
      let final = false
      this.#eventsThisConnection = 0
      try {
        const headers: Record<string, string> = { accept: "text/event-stream" }
        const resumeFrom = this.#resumeFrom(first)
        if (resumeFrom !== undefined) headers["last-event-id"] = resumeFrom
        // One connection's own signal: the session's end aborts it, and so does a silence past idleTimeoutMs.
        const connection = new AbortController()
        const stopConnection = () => connection.abort()
        this.#stop.signal.addEventListener("abort", stopConnection, { once: true })
        const idleMs = this.#options.reconnect?.idleTimeoutMs ?? 90_000
        let idle: ReturnType<typeof setTimeout> | undefined
        const heard = () => {
          clearTimeout(idle)
          if (idleMs > 0) idle = setTimeout(() => connection.abort(new Error(`no event for ${idleMs} ms`)), idleMs)
        }
        this.#connectionCleanup = () => {
          clearTimeout(idle)
          this.#stop.signal.removeEventListener("abort", stopConnection)
        }
        heard()
        const response = await this.#http.send(this.#created.stream_url, { headers, signal: connection.signal })
        if (response.status !== 200 || response.body === null) {
          final = finalStatuses.has(response.status)
          throw await GatewayHttpError.fromResponse(response)
        }
        const isFirst = first
        first = false
        if (isFirst) opened()
        const reader = response.body.getReader()
        this.#reader = reader
        // The first events (all the session queued since it was created) are dispatched only after the caller
        // of createSession() has had its turn to add listeners.
        if (isFirst) await wait(0, this.#stop.signal)
        try {
          // A silent connection is cancelled from outside the read, which then ends.
          connection.signal.addEventListener("abort", () => void reader.cancel().catch(() => {}), { once: true })
          for (;;) {
            const { done, value } = await reader.read()
            if (done) break
            heard()
            this.#parser.push(value)
            if (this.#eventsThisConnection > 0) attempt = 0
            if (this.#closedReason !== undefined) break
          }
        } finally {
          this.#reader = undefined
          reader.cancel().catch(() => {})
        }
        cause = new Error("the stream ended without a closed event")
      } catch (error) {
        cause = error
      }
      this.#connectionCleanup?.()
      this.#connectionCleanup = undefined
      this.#parser.end()
      // `closed` arrived, or close() hung up: the end of the stream is expected.
      if (this.#stop.signal.aborted || this.#closedReason !== undefined) break
      if (first || final || attempt >= (this.#options.reconnect?.maxAttempts ?? Infinity)) {
        this.#emit("stream-error", { error: cause, willReconnect: false })
        this.#finish("stream_failed", cause)
        if (first) failedToOpen(cause)
        break
      }
      // After close() the gateway's `closed` may not come (the stream dropped first): do not reopen.
      if (this.#ending) break
      this.#emit("stream-error", { error: cause, willReconnect: true })
      attempt++
      const delayMs = this.#backoff(attempt)
      this.#emit("reconnecting", { attempt, delayMs, lastEventId: this.#resumeFrom(false), cause })
      await wait(delayMs, this.#stop.signal)
      // close() was called while waiting: the session is being deleted, there is nothing to reopen.
      if (this.#ending) break
    }
  }

  /** The `Last-Event-ID` to open the stream with. */
  #resumeFrom(first: boolean): string | undefined {
    if (this.#parser.lastEventId !== "") return this.#parser.lastEventId
    // Without the header the gateway resumes after the events the dropped stream took, which may never have
    // arrived; its ids start at 1, so 0 asks for everything it still has.
    return first ? undefined : "0"
  }

  /** Exponential from `retry:` (or `initialDelayMs`), capped, with jitter. */
  #backoff(attempt: number): number {
    const base = this.#retryMs ?? this.#options.reconnect?.initialDelayMs ?? 1000
    const cap = Math.max(base, this.#options.reconnect?.maxDelayMs ?? 30_000)
    const ceiling = Math.min(cap, base * 2 ** (attempt - 1))
    // Half fixed, half random: clients dropped together (a gateway restart) do not all come back at once.
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2))
  }

  #onSse(sse: SseEvent): void {
    let data: unknown
    try {
      data = JSON.parse(sse.data)
    } catch (error) {
      this.#emit("stream-error", { error, willReconnect: true })
      return
    }
    this.#eventsThisConnection++
    // The gateway's events are trusted to match their names (docs/session-api.md); unknown names pass through.
    const event = new GatewayEvent(sse.type as EventName, data as EventData[EventName], Number(sse.lastEventId))
    this.dispatchEvent(event)
    const lost = sse.type === "error" && (data as EventData["error"]).request_id === undefined &&
      (data as EventData["error"]).error.code === "events_lost"
    if (lost) {
      // Some answers may be among the events the gateway no longer had: a request already accepted cannot tell,
      // and would wait forever. Each fails, so its caller can ask again.
      for (const pending of [...this.#pending]) {
        if (pending.requestId !== undefined) this.#end(pending, { error: new GatewayEventError((data as EventData["error"]).error) })
      }
    }
    if (sse.type === "closed") {
      this.#finish((data as EventData["closed"]).reason)
    } else if (sse.type === "response" || sse.type === "error") {
      const requestId = (data as EventData["response" | "error"]).request_id
      if (requestId === undefined) return
      const pending = this.#byRequestId.get(requestId)
      if (pending !== undefined) this.#settle(pending, event as Settling)
      else if (this.#posting > 0) this.#early.set(requestId, event as Settling)
    }
  }

  #emit<K extends "reconnecting" | "stream-error">(type: K, detail: GatewaySessionEventMap[K]["detail"]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }))
  }

  // ===========================================================================
  // Typed listeners
  // ===========================================================================

  override addEventListener<K extends keyof GatewaySessionEventMap>(
    type: K,
    listener: Listener<GatewaySessionEventMap[K]> | null,
    options?: boolean | AddEventListenerOptions
  ): void
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions
  ): void
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions
  ): void {
    super.addEventListener(type, listener, options)
  }

  override removeEventListener<K extends keyof GatewaySessionEventMap>(
    type: K,
    listener: Listener<GatewaySessionEventMap[K]> | null,
    options?: boolean | EventListenerOptions
  ): void
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions
  ): void
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions
  ): void {
    super.removeEventListener(type, listener, options)
  }
}
