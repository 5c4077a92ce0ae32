/** How the client reaches the gateway: one `fetch` with the bearer token, paths resolved against the base URL. */
import { GatewayHttpError, GatewayNetworkError } from "./ClientErrors.ts"

/** The part of `fetch` the client uses; `globalThis.fetch` and most wrappers fit. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

export interface SendInit {
  readonly method?: "GET" | "POST" | "DELETE"
  readonly headers?: Record<string, string>
  readonly body?: string
  readonly signal?: AbortSignal
}

export class Http {
  readonly #baseUrl: string
  readonly #token: string | undefined
  readonly #fetch: FetchLike

  constructor(baseUrl: string | URL, token: string | undefined, fetch: FetchLike | undefined) {
    this.#baseUrl = String(baseUrl)
    this.#token = token
    // Called as a plain function: a browser's fetch throws "Illegal invocation" when called as a method of
    // another object (this class, or the options it came in).
    const f = fetch ?? globalThis.fetch
    this.#fetch = (input, init) => f(input, init)
  }

  /**
   * `path` is absolute (`/gateway/stream/...`), as the gateway gives it: it resolves against the base URL's origin,
   * and never leaves it (a URL naming another origin would carry the token there). A failure to reach the gateway
   * is a {@link GatewayNetworkError}; an abort is passed on as it is.
   */
  async send(path: string, init: SendInit = {}): Promise<Response> {
    const url = new URL(path, this.#baseUrl)
    if (url.origin !== new URL(this.#baseUrl).origin) {
      throw new GatewayNetworkError(`refusing to send the token to ${url.origin}: the gateway is ${new URL(this.#baseUrl).origin}`)
    }
    const headers: Record<string, string> = { ...init.headers }
    if (this.#token !== undefined) headers["authorization"] = `Bearer ${this.#token}`
    const request: RequestInit = { method: init.method ?? "GET", headers }
    if (init.body !== undefined) request.body = init.body
    if (init.signal !== undefined) request.signal = init.signal
    try {
      return await this.#fetch(url.href, request)
    } catch (error) {
      if (init.signal?.aborted === true) throw error
      throw new GatewayNetworkError(`the gateway could not be reached: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }

  /** POSTs JSON and reads a JSON answer of the expected status; any other status is a {@link GatewayHttpError}. */
  async postJson(path: string, body: unknown, expected: number): Promise<unknown> {
    const response = await this.send(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    })
    if (response.status !== expected) throw await GatewayHttpError.fromResponse(response)
    try {
      return await response.json()
    } catch (error) {
      throw new GatewayNetworkError("the gateway's answer was not JSON", { cause: error })
    }
  }
}
