import { assert, describe, it } from "@effect/vitest"
import { type SseEvent, SseParser } from "../../src/client/SseParser.ts"

interface Parsed {
  readonly events: Array<SseEvent>
  readonly retries: Array<number>
  readonly parser: SseParser
}

/** Feeds `chunks` in order (then ends the stream) and collects what the parser dispatches. */
const parse = (chunks: ReadonlyArray<string | Uint8Array>, options: { readonly end?: boolean } = {}): Parsed => {
  const events: Array<SseEvent> = []
  const retries: Array<number> = []
  const parser = new SseParser({ onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms) })
  for (const chunk of chunks) parser.push(chunk)
  if (options.end ?? true) parser.end()
  return { events, retries, parser }
}

const event = (data: string, type = "message", lastEventId = ""): SseEvent => ({ type, data, lastEventId })

describe("SseParser", () => {
  it("dispatches an event at a blank line, named `message` by default", () => {
    assert.deepStrictEqual(parse(["data: hello\n\n"]).events, [event("hello")])
  })

  it("reads event, id and multi-line data (joined with \\n), as in the standard's stock-ticker example", () => {
    const { events, parser } = parse(["event: quote\nid: 7\ndata: YHOO\ndata: +2\ndata: 10\n\n"])
    assert.deepStrictEqual(events, [event("YHOO\n+2\n10", "quote", "7")])
    assert.strictEqual(parser.lastEventId, "7")
  })

  it("the standard's example: an id persists, a bare `id` resets it, one leading space is stripped", () => {
    const { events } = parse([": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"])
    assert.deepStrictEqual(events, [event("first event", "message", "1"), event("second event"), event(" third event")])
  })

  it("`data` with no colon and `data:` alone each add an empty line; a trailing event with no blank line is dropped", () => {
    const { events } = parse(["data\n\ndata\ndata\n\ndata:"])
    assert.deepStrictEqual(events, [event(""), event("\n")])
  })

  it("accepts CRLF, lone CR and LF line endings, mixed in one stream", () => {
    const { events } = parse(["data: a\r\ndata: b\r\n\r\ndata: c\rdata: d\r\rdata: e\n\r\n"])
    assert.deepStrictEqual(events, [event("a\nb"), event("c\nd"), event("e")])
  })

  it("ignores comments and unknown fields", () => {
    const { events } = parse([": keep-alive\n:\nfoo: bar\ndata: x\n: inside an event\nDATA: not data\n\n"])
    assert.deepStrictEqual(events, [event("x")])
  })

  it("an event with no data is not dispatched, but its id still becomes the last event id", () => {
    const { events, parser } = parse(["id: 5\nevent: ping\n\ndata: after\n\n"])
    // The event type does not leak into the next event either.
    assert.deepStrictEqual(events, [event("after", "message", "5")])
    assert.strictEqual(parser.lastEventId, "5")
  })

  it("ignores an id containing NUL", () => {
    const { events } = parse(["id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"])
    assert.deepStrictEqual(events.map((e) => e.lastEventId), ["1", "1"])
  })

  it("takes `retry:` only when it is ASCII digits", () => {
    const { retries, events } = parse(["retry: 1500\nretry: 1.5\nretry: -1\nretry: abc\nretry:\nretry: 20 \nretry:0\n\n"])
    assert.deepStrictEqual(retries, [1500, 0])
    assert.deepStrictEqual(events, [], "retry alone dispatches nothing")
  })

  it("skips one BOM at the start of the stream; a second one is part of the first field name", () => {
    assert.deepStrictEqual(parse(["\uFEFFdata: a\n\n"]).events, [event("a")])
    assert.deepStrictEqual(parse(["\uFEFF\uFEFFdata: a\n\n"]).events, [])
    assert.deepStrictEqual(parse([new Uint8Array([0xef, 0xbb, 0xbf]), "data: a\n\n"]).events, [event("a")])
  })

  it("discards an unfinished event at the end of the stream, and starts afresh (BOM and all) after end()", () => {
    const events: Array<SseEvent> = []
    const parser = new SseParser({ onEvent: (e) => events.push(e) })
    parser.push("id: 1\ndata: whole\n\nid: 2\ndata: half")
    parser.end()
    parser.push("\uFEFF\ndata: next\n\n")
    // The id of the unfinished event was never dispatched; the last one was.
    assert.deepStrictEqual(events, [event("whole", "message", "1"), event("next", "message", "1")])
  })

  it("a CRLF split between two chunks is one line end, not two", () => {
    assert.deepStrictEqual(parse(["data: a\r", "\ndata: b\r", "\n\r", "\n"]).events, [event("a\nb")])
  })

  it("gives the same events whatever byte the stream is split at, including inside CRLF and UTF-8 sequences", () => {
    const sample = "\uFEFF: hi\r\nretry: 250\r\nid: 1\r\nevent: response\r\ndata: {\"text\":\"héllo ✓ 𝄞\"}\r\n\r\n" +
      "data: line one\rdata: line two\r\rid: 2\ndata:x\n\n:tail\nid: 3\n\n"
    const bytes = new TextEncoder().encode(sample)
    const whole = parse([bytes])
    assert.lengthOf(whole.events, 3)
    assert.deepStrictEqual(whole.events[0], event("{\"text\":\"héllo ✓ 𝄞\"}", "response", "1"))
    assert.deepStrictEqual(whole.events[1], event("line one\nline two", "message", "1"))
    assert.deepStrictEqual(whole.events[2], event("x", "message", "2"))
    assert.strictEqual(whole.parser.lastEventId, "3")
    for (let at = 0; at <= bytes.length; at++) {
      const split = parse([bytes.subarray(0, at), bytes.subarray(at)])
      assert.deepStrictEqual(split.events, whole.events, `split at byte ${at}`)
      assert.deepStrictEqual(split.retries, [250], `split at byte ${at}`)
      assert.strictEqual(split.parser.lastEventId, "3", `split at byte ${at}`)
    }
    // And split at every byte at once, and as text one UTF-16 unit at a time.
    assert.deepStrictEqual(parse(Array.from(bytes, (b) => new Uint8Array([b]))).events, whole.events)
    assert.deepStrictEqual(parse(sample.split("")).events, whole.events)
  })
})
