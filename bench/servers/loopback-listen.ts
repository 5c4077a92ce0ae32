/**
 * A preload for the npm peers the bench runs (`node --import bench/servers/loopback-listen.ts <peer> ...`):
 * every TCP server the process opens listens on 127.0.0.1 only, whatever host it asked for, and prints
 * `loopback listen: http://127.0.0.1:<port>` once it listens. supergateway has no host option (its Express app
 * listens on every interface) and a bench must not expose an MCP server to the network; with port 0 the line
 * also tells the bench the port the kernel gave. Only the peer's own process is affected: flags given on the
 * command line (not NODE_OPTIONS) do not reach the servers it spawns.
 */
import * as net from "node:net"

type Listen = (this: net.Server, ...args: Array<unknown>) => net.Server

const original = net.Server.prototype.listen as unknown as Listen

const patched: Listen = function(this: net.Server, ...args: Array<unknown>) {
  const first = args[0]
  const callbacks = args.filter((arg) => typeof arg === "function")
  let options: net.ListenOptions | undefined
  if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    options = { port: Number(first), host: "127.0.0.1" }
  } else if (typeof first === "object" && first !== null && !("_handle" in first) && !("fd" in first) && !("path" in first)) {
    options = { ...(first as net.ListenOptions), host: "127.0.0.1" }
  }
  // A Unix socket, a handle or an fd: nothing to bind to an interface.
  if (options === undefined) return original.apply(this, args)
  this.once("listening", () => {
    const address = this.address()
    if (address !== null && typeof address === "object") console.log(`loopback listen: http://127.0.0.1:${address.port}`)
  })
  return original.call(this, options, ...callbacks)
}

net.Server.prototype.listen = patched as unknown as typeof net.Server.prototype.listen
