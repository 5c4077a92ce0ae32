/**
 * Example: any MCP client can use the whole fleet through `/mcp`; here the official SDK v2 client.
 *
 *   npx node examples/mcp-sdk-client.ts http://127.0.0.1:3625/mcp <token> [auto|legacy]
 *
 * `auto` speaks the 2026-07-28 era (stateless requests), `legacy` the 2025-11-25 era (an MCP session).
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"

export const run = async (url: string, token: string, era: "auto" | "legacy" = "auto") => {
  const client = new Client(
    { name: "gateway-example", version: "1.0.0" },
    era === "auto" ? { versionNegotiation: { mode: "auto" } } : {}
  )
  await client.connect(new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } }
  }))
  try {
    const { tools } = await client.listTools()
    const echo = await client.callTool({ name: "everything__echo", arguments: { message: "hello through /mcp" } })
    const { resources } = await client.listResources()
    return {
      protocolVersion: client.getNegotiatedProtocolVersion?.() ?? "unknown",
      tools: tools.length,
      echo: JSON.stringify(echo.content),
      resources: resources.length
    }
  } finally {
    await client.close()
  }
}

if (import.meta.main) {
  const [url = "http://127.0.0.1:3625/mcp", token = process.env["MCP_GATEWAY_TOKEN"], era = "auto"] = process.argv.slice(2)
  if (token === undefined) throw new Error("usage: node examples/mcp-sdk-client.ts <url> <token> [auto|legacy]")
  console.log(await run(url, token, era === "legacy" ? "legacy" : "auto"))
}
