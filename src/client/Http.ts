/** How the client reaches the gateway: one `fetch` with the bearer token, paths resolved against the base URL. */
import { GatewayHttpError } from "./ClientErrors.ts"

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

  /** `path` is absolute (`/gateway/stream/...`), as the gateway gives it: it resolves against the base URL's origin. */
  send(path: string, init: SendInit = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers }
    if (this.#token !== undefined) headers["authorization"] = `Bearer ${this.#token}`
    const request: RequestInit = { method: init.method ?? "GET", headers }
    if (init.body !== undefined) request.body = init.body
    if (init.signal !== undefined) request.signal = init.signal
    return this.#fetch(new URL(path, this.#baseUrl).href, request)
  }

  /** POSTs JSON and reads a JSON answer of the expected status; any other status is a {@link GatewayHttpError}. */
  async postJson(path: string, body: unknown, expected: number): Promise<unknown> {
    const response = await this.send(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    })
    if (response.status !== expected) throw await GatewayHttpError.fromResponse(response)
    return response.json()
  }
}
