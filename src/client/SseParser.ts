/**
 * A parser for `text/event-stream`, following the WHATWG HTML standard, "Server-sent events", §9.2.6
 * ("Interpreting an event stream"). No dependencies: the client reads the stream through `fetch` (EventSource
 * cannot send `Authorization` nor `Last-Event-ID` of its own choosing), so it parses the bytes itself.
 */

/** One dispatched event. */
export interface SseEvent {
  /** The `event:` field, or `"message"` when the event had none. */
  readonly type: string
  /** The `data:` fields, joined with `\n`. */
  readonly data: string
  /** The last event ID buffer when the event was dispatched: ids persist across events until set again. */
  readonly lastEventId: string
}

export interface SseParserHandlers {
  readonly onEvent: (event: SseEvent) => void
  /** A valid `retry:` field: the reconnection time, in milliseconds. */
  readonly onRetry?: (ms: number) => void
}

export class SseParser {
  readonly #handlers: SseParserHandlers
  // A line ends at CRLF, a lone LF or a lone CR. One per parser: `lastIndex` is state.
  readonly #lineEnd = /\r\n|\r|\n/g
  // `fatal: false`: invalid UTF-8 becomes U+FFFD, as the standard's "UTF-8 decode" does. The BOM is ours to
  // strip (`ignoreBOM`), so text and byte chunks are treated alike.
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true })
  #started = false
  // The part of the stream after the last line end: an incomplete line.
  #pending = ""
  // The previous chunk ended in CR: an LF opening the next chunk is the rest of that CRLF, not an empty line.
  #afterCr = false
  #data = ""
  #eventType = ""
  #lastEventIdBuffer = ""
  #lastEventId = ""

  constructor(handlers: SseParserHandlers) {
    this.#handlers = handlers
  }

  /** The id of the last event dispatched (or of the last id-only block): what a reconnect sends as Last-Event-ID. */
  get lastEventId(): string {
    return this.#lastEventId
  }

  /** Feeds the next piece of the stream: bytes (UTF-8, split anywhere) or already decoded text. */
  push(chunk: Uint8Array | string): void {
    let text = typeof chunk === "string" ? chunk : this.#decoder.decode(chunk, { stream: true })
    if (!this.#started && text.length > 0) {
      this.#started = true
      // One BOM at the very start of the stream is skipped; anywhere else it is content.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    if (this.#afterCr && text.length > 0) {
      this.#afterCr = false
      if (text.charCodeAt(0) === 0x0a) text = text.slice(1)
    }
    // No line end: the line goes on (appending is all; scanning the whole line again on every chunk would make a
    // long line cost time quadratic in its length).
    if (text.indexOf("\n") === -1 && text.indexOf("\r") === -1) {
      this.#pending += text
      return
    }
    const buffer = this.#pending + text
    const lines: Array<string> = []
    let start = 0
    // `#pending` holds no line end: the scan starts where the new text does.
    this.#lineEnd.lastIndex = this.#pending.length
    for (let match = this.#lineEnd.exec(buffer); match !== null; match = this.#lineEnd.exec(buffer)) {
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (match[0] === "\r" && match.index === buffer.length - 1) this.#afterCr = true
      lines.push(buffer.slice(start, match.index))
      start = this.#lineEnd.lastIndex
    }
    // The parser is settled before any handler runs: a handler that throws cannot leave it half-way.
    this.#pending = buffer.slice(start)
    for (const line of lines) this.#line(line)
  }

  /**
   * The stream has ended. An event still being built (no blank line yet) is discarded, as the standard says, and
   * the parser is ready for a new stream (a reconnect); the last event id is kept.
   */
  end(): void {
    this.#decoder.decode()
    this.#started = false
    this.#pending = ""
    this.#afterCr = false
    this.#data = ""
    this.#eventType = ""
    // An id read in the discarded event was never dispatched: resume from the last one that was.
    this.#lastEventIdBuffer = this.#lastEventId
  }

  #line(line: string): void {
    if (line === "") return this.#dispatch()
    // A comment: servers use them as keep-alives.
    if (line.charCodeAt(0) === 0x3a) return
    const colon = line.indexOf(":")
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? "" : line.slice(colon + 1)
    if (value.charCodeAt(0) === 0x20) value = value.slice(1)
    switch (field) {
      case "event":
        this.#eventType = value
        return
      case "data":
        this.#data += value + "\n"
        return
      case "id":
        // An id with NUL is ignored: it could not be sent back in a Last-Event-ID header.
        if (!value.includes("\0")) this.#lastEventIdBuffer = value
        return
      case "retry":
        if (/^[0-9]+$/.test(value)) this.#handlers.onRetry?.(Number.parseInt(value, 10))
        return
      default:
        // Unknown fields are ignored.
        return
    }
  }

  #dispatch(): void {
    // The id is taken even by a block with no data, so a server can move the resume point without an event.
    this.#lastEventId = this.#lastEventIdBuffer
    if (this.#data === "") {
      this.#eventType = ""
      return
    }
    const event: SseEvent = {
      type: this.#eventType === "" ? "message" : this.#eventType,
      data: this.#data.slice(0, -1),
      lastEventId: this.#lastEventId
    }
    this.#data = ""
    this.#eventType = ""
    this.#handlers.onEvent(event)
  }
}
