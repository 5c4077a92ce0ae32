/** The entry point: where the gateway is and who the client is; it opens sessions. */
import { type FetchLike, Http } from "./Http.ts"
import type { SessionCreated } from "./Protocol.ts"
import { GatewaySession, type SessionOptions } from "./GatewaySession.ts"

export interface GatewayClientOptions extends SessionOptions {
  /** The client's bearer token; omit it for the gateway's anonymous client. */
  readonly token?: string
  /** Replaces `globalThis.fetch` (a proxy agent, test instrumentation, ...). */
  readonly fetch?: FetchLike
}

export interface CreateSessionOptions {
  /** The servers the session may use. Default: every server the client may use. */
  readonly servers?: ReadonlyArray<string>
  /**
   * The MCP client capabilities the session can serve (`sampling`, `elicitation`, `roots`). Default: all of them.
   * A backend request the session cannot answer is refused by the gateway at once, without a `request` event.
   */
  readonly capabilities?: Record<string, unknown>
}

export class GatewayClient {
  readonly #http: Http
  readonly #options: GatewayClientOptions

  /** `baseUrl` is the gateway's origin (`http://127.0.0.1:3625`): the gateway's routes are absolute paths. */
  constructor(baseUrl: string | URL, options: GatewayClientOptions = {}) {
    this.#http = new Http(baseUrl, options.token, options.fetch)
    this.#options = options
  }

  /**
   * Creates a session (`POST /gateway/stream`) and opens its stream; resolves once the stream is open. Rejects with
   * `GatewayHttpError` when the gateway refuses (`forbidden`, `too_many_sessions`, ...).
   */
  async createSession(options: CreateSessionOptions = {}): Promise<GatewaySession> {
    const body = {
      ...(options.servers === undefined ? {} : { servers: options.servers }),
      ...(options.capabilities === undefined ? {} : { capabilities: options.capabilities })
    }
    // The gateway's 201 body (docs/session-api.md).
    const created = await this.#http.postJson("/gateway/stream", body, 201) as SessionCreated
    try {
      return await GatewaySession.open(this.#http, created, this.#options)
    } catch (error) {
      // A session whose stream cannot be opened is of no use: do not leave it counting against the client's limit.
      await this.#http.send(created.stream_url, { method: "DELETE" }).catch(() => undefined)
      throw error
    }
  }
}
