import { type JSONRPCMessage, STDIO_DEFAULT_MAX_BUFFER_SIZE } from "@modelcontextprotocol/client"

/**
 * The MCP stdio framing (one JSON-RPC message per line), read the way the SDK's `ReadBuffer` reads it but
 * without validating every message against the full protocol schema: that validation was a third of the
 * gateway's CPU per message under a notification flood (bench/), and the gateway forwards messages rather
 * than interpreting them. A line must still be a JSON-RPC 2.0 message in shape; other JSON is an error.
 * Non-JSON lines are skipped, as the SDK does (some servers print logs on stdout).
 */
export class LineReader {
  readonly #maxBytes: number
  /** Bytes that may hold complete lines. */
  #buffer: Buffer | undefined
  /** Chunks that arrived with no newline since: joined only once a newline comes, so one large message costs one copy. */
  #pending: Array<Buffer> = []
  #pendingBytes = 0

  constructor(maxBytes: number = STDIO_DEFAULT_MAX_BUFFER_SIZE) {
    this.#maxBytes = maxBytes
  }

  /** Throws when unread bytes would pass the limit: the stream can no longer be framed. */
  append(chunk: Buffer): void {
    if ((this.#buffer?.length ?? 0) + this.#pendingBytes + chunk.length > this.#maxBytes) {
      this.clear()
      throw new Error(`more than ${this.#maxBytes} bytes without a complete message`)
    }
    if (chunk.indexOf(10) === -1) {
      this.#pending.push(chunk)
      this.#pendingBytes += chunk.length
      return
    }
    const parts = this.#buffer === undefined ? [...this.#pending, chunk] : [this.#buffer, ...this.#pending, chunk]
    this.#buffer = parts.length === 1 ? chunk : Buffer.concat(parts)
    this.#pending = []
    this.#pendingBytes = 0
  }

  /** The next complete message, or null. Throws (and moves past it) on a line that is JSON but not JSON-RPC. */
  read(): JSONRPCMessage | null {
    while (this.#buffer !== undefined) {
      const end = this.#buffer.indexOf(10) // "\n"
      if (end === -1) return null
      const line = this.#buffer.toString("utf8", 0, end > 0 && this.#buffer[end - 1] === 13 ? end - 1 : end)
      this.#buffer = end + 1 === this.#buffer.length ? undefined : this.#buffer.subarray(end + 1)
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch {
        continue
      }
      if (isMessage(value)) return value
      throw new Error("a line of JSON that is not a JSON-RPC 2.0 message")
    }
    return null
  }

  clear(): void {
    this.#buffer = undefined
    this.#pending = []
    this.#pendingBytes = 0
  }
}

const isMessage = (value: unknown): value is JSONRPCMessage => {
  if (typeof value !== "object" || value === null || !("jsonrpc" in value) || value.jsonrpc !== "2.0") return false
  if ("method" in value) return typeof value.method === "string"
  return "id" in value && ("result" in value || "error" in value)
}
