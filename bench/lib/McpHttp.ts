/**
 * The bench's lean client for MCP's Streamable HTTP: plain `node:http` with a keep-alive Agent, as in
 * LeanHttp.ts (no fetch, no MCP SDK: the SDK's HTTP client costs ~1.7 ms CPU per call), with what MCP adds:
 * headers per request, the legacy handshake (initialize, notifications/initialized, then `Mcp-Session-Id` and
 * `MCP-Protocol-Version` on every POST, DELETE at the end), the 2026-07-28 request shape (`MCP-Protocol-Version`,
 * `Mcp-Method`, `Mcp-Name` headers and the `_meta` envelope, as the SDK v2 client sends it), and the first
 * JSON-RPC response of an answer, whether it comes as JSON or as an SSE stream.
 */
import * as http from "node:http"

export interface McpReply {
  readonly status: number
  readonly contentType: string
  readonly sessionId: string | undefined
  readonly body: string
}

export interface McpHttpClient {
  readonly send: (method: string, path: string, body?: string, headers?: Readonly<Record<string, string>>) => Promise<McpReply>
  readonly close: () => void
}

/** What every MCP POST carries (the transport spec asks for both media types in Accept). */
const accept = "application/json, text/event-stream"

export const makeMcpHttpClient = (
  baseUrl: string,
  options: { readonly token?: string; readonly maxSockets?: number } = {}
): McpHttpClient => {
  const url = new URL(baseUrl)
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 })
  const common: Record<string, string> = options.token === undefined
    ? { accept }
    : { accept, authorization: `Bearer ${options.token}` }

  const send = (method: string, path: string, body?: string, headers: Readonly<Record<string, string>> = {}) =>
    new Promise<McpReply>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(body)
      const all = payload === undefined
        ? { ...common, ...headers }
        : { ...common, ...headers, "content-type": "application/json", "content-length": String(payload.length) }
      const req = http.request({ agent, host: url.hostname, port: url.port, method, path, headers: all }, (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => void (text += chunk))
        res.on("end", () => {
          const sessionId = res.headers["mcp-session-id"]
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers["content-type"] ?? "",
            sessionId: typeof sessionId === "string" ? sessionId : undefined,
            body: text
          })
        })
        res.on("error", reject)
      })
      req.on("error", reject)
      req.end(payload)
    })

  return { send, close: () => agent.destroy() }
}

export interface JsonRpcResponse {
  readonly id: string | number
  readonly result?: Record<string, unknown>
  readonly error?: { readonly code: number; readonly message: string }
}

const isResponse = (message: unknown): message is JsonRpcResponse =>
  typeof message === "object" && message !== null && "id" in message && ("result" in message || "error" in message)

/**
 * The first JSON-RPC response in an answer: the body itself (JSON), or the first SSE event whose data is one
 * (priming events with empty data, notifications and server requests before it are skipped).
 */
export const firstResponse = (reply: McpReply): JsonRpcResponse | undefined => {
  if (!reply.contentType.startsWith("text/event-stream")) {
    const message: unknown = reply.body === "" ? undefined : JSON.parse(reply.body)
    return isResponse(message) ? message : undefined
  }
  for (const block of reply.body.split(/\r?\n\r?\n/)) {
    let data: string | undefined
    for (const line of block.split(/\r?\n/)) {
      if (!line.startsWith("data:")) continue
      const part = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5)
      data = data === undefined ? part : `${data}\n${part}`
    }
    if (data === undefined || data === "") continue
    const message: unknown = JSON.parse(data)
    if (isResponse(message)) return message
  }
  return undefined
}

export const legacyVersion = "2025-11-25"
export const modernVersion = "2026-07-28"
const clientInfo = { name: "mcp-gateway-bench", version: "1" }

export interface LegacySession {
  readonly sessionId: string
  /** `Mcp-Session-Id` and `MCP-Protocol-Version`: what every later request of the session carries. */
  readonly headers: Readonly<Record<string, string>>
  /** DELETE: the server ends the session. Resolves with the status. */
  readonly end: () => Promise<number>
}

/** A legacy-era MCP session at `path`: initialize, then notifications/initialized. */
export const openLegacySession = async (client: McpHttpClient, path: string): Promise<LegacySession> => {
  const init = await client.send(
    "POST",
    path,
    JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: { protocolVersion: legacyVersion, capabilities: {}, clientInfo }
    })
  )
  const answer = firstResponse(init)
  const version = answer?.result?.["protocolVersion"]
  if (init.status !== 200 || init.sessionId === undefined || typeof version !== "string") {
    throw new Error(`initialize: ${init.status}, session ${init.sessionId}: ${init.body.slice(0, 500)}`)
  }
  const headers = { "mcp-session-id": init.sessionId, "mcp-protocol-version": version }
  const ack = await client.send("POST", path, JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }), headers)
  if (ack.status !== 202) throw new Error(`notifications/initialized: ${ack.status} ${ack.body.slice(0, 500)}`)
  return { sessionId: init.sessionId, headers, end: () => client.send("DELETE", path, undefined, headers).then((r) => r.status) }
}

/** The 2026-07-28 envelope every modern request carries in `params._meta`, as JSON text (no braces). */
const modernEnvelope = `"_meta":${
  JSON.stringify({
    "io.modelcontextprotocol/protocolVersion": modernVersion,
    "io.modelcontextprotocol/clientInfo": clientInfo,
    "io.modelcontextprotocol/clientCapabilities": {}
  })
}`

/** The headers of a modern `tools/call` of `tool` (the SDK v2 client sends exactly these three). */
export const modernHeaders = (tool: string): Readonly<Record<string, string>> => ({
  "mcp-protocol-version": modernVersion,
  "mcp-method": "tools/call",
  "mcp-name": tool
})

/**
 * One `tools/call` of `tool` with `{ message: "x" }` per call: POSTed to `path` with `headers`, the answer's
 * first JSON-RPC response checked (HTTP 200, same id, a result) and returned. `modern` adds the `_meta`
 * envelope to the params.
 */
export const echoCaller = (
  client: McpHttpClient,
  path: string,
  options: { readonly tool: string; readonly headers: Readonly<Record<string, string>>; readonly modern?: boolean }
) => {
  let nextId = 0
  const tail = options.modern === true ? `,${modernEnvelope}}}` : "}}"
  return async (): Promise<JsonRpcResponse> => {
    const id = ++nextId
    const body = `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"${options.tool}","arguments":{"message":"x"}${tail}`
    const reply = await client.send("POST", path, body, options.headers)
    if (reply.status !== 200) throw new Error(`tools/call ${path}: ${reply.status} ${reply.body.slice(0, 500)}`)
    const response = firstResponse(reply)
    if (response?.id !== id || response.result === undefined) {
      throw new Error(`tools/call ${path}: no result for id ${id} in ${reply.body.slice(0, 500)}`)
    }
    return response
  }
}
