import { assert, describe, it } from "@effect/vitest"
import { LineReader } from "../../src/backend/LineReader.ts"

const all = (reader: LineReader) => {
  const out: Array<unknown> = []
  for (let m = reader.read(); m !== null; m = reader.read()) out.push(m)
  return out
}

describe("LineReader", () => {
  it("frames messages split across chunks, several per chunk, with LF or CRLF", () => {
    const reader = new LineReader()
    reader.append(Buffer.from('{"jsonrpc":"2.0","id":1,"res'))
    assert.deepStrictEqual(all(reader), [])
    reader.append(Buffer.from('ult":{}}\r\n{"jsonrpc":"2.0","method":"a"}\n{"jsonrpc":"2.0","method":"b"}\n{"json'))
    assert.deepStrictEqual(all(reader), [
      { jsonrpc: "2.0", id: 1, result: {} },
      { jsonrpc: "2.0", method: "a" },
      { jsonrpc: "2.0", method: "b" }
    ])
    reader.append(Buffer.from('rpc":"2.0","method":"c"}\n'))
    assert.deepStrictEqual(all(reader), [{ jsonrpc: "2.0", method: "c" }])
  })

  it("skips lines that are not JSON (a server's stray log), refuses JSON that is not JSON-RPC", () => {
    const reader = new LineReader()
    reader.append(Buffer.from('starting up...\n{"hello":1}\n{"jsonrpc":"2.0","method":"ok"}\n'))
    assert.throws(() => reader.read(), /not a JSON-RPC 2.0 message/)
    assert.deepStrictEqual(reader.read(), { jsonrpc: "2.0", method: "ok" })
  })

  it("reads one large message that arrives in many chunks", () => {
    const reader = new LineReader()
    const text = "x".repeat(1_000_000)
    const line = Buffer.from(JSON.stringify({ jsonrpc: "2.0", method: "big", params: { text } }) + "\n")
    for (let at = 0; at < line.length; at += 65_536) {
      reader.append(line.subarray(at, at + 65_536))
      if (at + 65_536 < line.length) assert.isNull(reader.read())
    }
    const message = reader.read() as { params: { text: string } } | null
    assert.strictEqual(message?.params.text.length, 1_000_000)
    assert.isNull(reader.read())
  })

  it("refuses to buffer more than its limit without a complete message", () => {
    const reader = new LineReader(16)
    reader.append(Buffer.from("0123456789"))
    assert.throws(() => reader.append(Buffer.from("0123456789")), /more than 16 bytes/)
    assert.isNull(reader.read(), "what was buffered is dropped")
  })
})
