/**
 * The bench's lean HTTP client: plain `node:http` with a keep-alive Agent (no fetch, no MCP SDK), and a
 * minimal SSE reader. The same client measures the gateway and the baselines, so its own cost cancels out in
 * the ratios.
 */
import * as http from "node:http"

export interface Reply {
  readonly status: number
  readonly body: string
}

export interface LeanClient {
  readonly request: (method: string, path: string, body?: string) => Promise<Reply>
  readonly openSse: (path: string, onEvent: SseHandler, headers?: Readonly<Record<string, string>>) => Promise<SseStream>
  readonly close: () => void
}

/** Called once per event; `receivedAt` is when the network chunk holding it arrived (performance.now()). */
export type SseHandler = (event: string, data: string, receivedAt: number) => void

export interface SseStream {
  readonly status: number
  /** Resolves when the server ends the stream (or it breaks). */
  readonly ended: Promise<void>
  /** Bytes of SSE read so far (comments included). */
  readonly bytes: () => number
  readonly close: () => void
}

export const makeClient = (baseUrl: string, options: { readonly token?: string; readonly maxSockets?: number } = {}): LeanClient => {
  const url = new URL(baseUrl)
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 })
  const auth: Record<string, string> = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }

  const request = (method: string, path: string, body?: string) =>
    new Promise<Reply>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(body)
      const headers = payload === undefined
        ? auth
        : { ...auth, "content-type": "application/json", "content-length": String(payload.length) }
      const req = http.request({ agent, host: url.hostname, port: url.port, method, path, headers }, (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => void (text += chunk))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }))
        res.on("error", reject)
      })
      req.on("error", reject)
      req.end(payload)
    })

  // SSE streams get their own connection (never pooled: they stay open).
  const openSse = (path: string, onEvent: SseHandler, extraHeaders: Readonly<Record<string, string>> = {}) =>
    new Promise<SseStream>((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, method: "GET", path, headers: { ...auth, accept: "text/event-stream", ...extraHeaders } },
        (res) => {
          let buffer = ""
          let bytes = 0
          res.setEncoding("utf8")
          res.on("data", (chunk: string) => {
            const receivedAt = performance.now()
            bytes += Buffer.byteLength(chunk)
            buffer = buffer.length === 0 ? chunk : buffer + chunk
            let start = 0
            for (;;) {
              const end = buffer.indexOf("\n\n", start)
              if (end === -1) break
              parseBlock(buffer, start, end, onEvent, receivedAt)
              start = end + 2
            }
            buffer = start === 0 ? buffer : buffer.slice(start)
          })
          const ended = new Promise<void>((done) => {
            res.on("end", done)
            res.on("close", done)
            res.on("error", () => done())
          })
          resolve({ status: res.statusCode ?? 0, ended, bytes: () => bytes, close: () => req.destroy() })
        }
      )
      req.on("error", reject)
      req.end()
    })

  return { request, openSse, close: () => agent.destroy() }
}

/** One SSE block (`buffer[start, end)`): `event:` and `data:` lines; comments and `id:` are skipped. */
const parseBlock = (buffer: string, start: number, end: number, onEvent: SseHandler, receivedAt: number) => {
  let event = "message"
  let data: string | undefined
  let lineStart = start
  while (lineStart < end) {
    let lineEnd = buffer.indexOf("\n", lineStart)
    if (lineEnd === -1 || lineEnd > end) lineEnd = end
    const first = buffer.charCodeAt(lineStart)
    if (first === 101 /* e */ && buffer.startsWith("event:", lineStart)) {
      event = value(buffer, lineStart + 6, lineEnd)
    } else if (first === 100 /* d */ && buffer.startsWith("data:", lineStart)) {
      const part = value(buffer, lineStart + 5, lineEnd)
      data = data === undefined ? part : `${data}\n${part}`
    }
    lineStart = lineEnd + 1
  }
  if (data !== undefined) onEvent(event, data, receivedAt)
}

const value = (buffer: string, from: number, to: number) =>
  buffer.slice(buffer.charCodeAt(from) === 32 ? from + 1 : from, to)

/** `"key":<number>` in a JSON text, without parsing all of it (the bench's hot path). */
export const numberField = (json: string, key: string): number => {
  const at = json.indexOf(`"${key}":`)
  if (at === -1) return Number.NaN
  const from = at + key.length + 3
  let to = from
  while (to < json.length) {
    const c = json.charCodeAt(to)
    if ((c >= 48 && c <= 57) || c === 46 || c === 45 || c === 101 || c === 43) to++
    else break
  }
  return Number(json.slice(from, to))
}

/** `"key":"<string without escapes>"` in a JSON text. */
export const stringField = (json: string, key: string): string | undefined => {
  const at = json.indexOf(`"${key}":"`)
  if (at === -1) return undefined
  const from = at + key.length + 4
  const to = json.indexOf("\"", from)
  return to === -1 ? undefined : json.slice(from, to)
}
