/**
 * Example: a Node program using the gateway's client library (`<package>/client`; here imported from the source).
 *
 *   npm start                                  # in another terminal: prints the dev token
 *   npx node examples/node-client.ts http://127.0.0.1:3625 <token>
 *
 * It opens a session, lists every server's tools, calls one, answers a backend's sampling request if one comes,
 * and closes the session.
 */
import { GatewayClient } from "../src/client/index.ts"

export const run = async (baseUrl: string, token: string) => {
  const client = new GatewayClient(baseUrl, { token })
  const session = await client.createSession()
  try {
    // A backend may ask the client for an LLM completion while serving a call: answer it.
    session.addEventListener("request", (event) => {
      const { id, method } = event.detail.request
      void session.respond(id, method === "sampling/createMessage"
        ? { role: "assistant", content: { type: "text", text: "an answer from the example" }, model: "example" }
        : { error: { code: -32601, message: `${method} is not supported by this example` } })
    })
    const { tools } = await session.listTools()
    const result = await session.callTool("everything__echo", { message: "hello from the example" })
    const text = result.content.map((block) => ("text" in block ? block.text : "")).join("")
    return { servers: session.servers.map((server) => `${server.id}: ${server.status}`), tools: tools.length, echo: text }
  } finally {
    await session.close()
  }
}

if (import.meta.main) {
  const [baseUrl = "http://127.0.0.1:3625", token = process.env["MCP_GATEWAY_TOKEN"]] = process.argv.slice(2)
  if (token === undefined) throw new Error("usage: node examples/node-client.ts <base url> <token> (or MCP_GATEWAY_TOKEN)")
  console.log(await run(baseUrl, token))
}
