/**
 * The gateway as the bench runs it: its own process, `node src/main.ts --config <tmp file>` with PORT=0, its
 * address parsed from the banner it prints, its backends' pids read from /healthz (to check they are gone
 * once it stops). Extra node flags for the gateway only (e.g. profiling) come from BENCH_GATEWAY_NODE_FLAGS,
 * e.g. `BENCH_GATEWAY_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench`.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import { makeClient } from "./LeanHttp.ts"
import { cleanupLines, isAlive, type Service, start } from "./Processes.ts"
import { sleep } from "./Stats.ts"

const root = fileURLToPath(new URL("../..", import.meta.url))
const mainScript = join(root, "src", "main.ts")
export const gatewayNodeFlags = (process.env.BENCH_GATEWAY_NODE_FLAGS ?? "").split(/\s+/).filter((flag) => flag !== "")

export interface Gateway extends Service {
  readonly url: string
  readonly backendPids: ReadonlyArray<number>
}

const launch = async (dir: string, name: string, config: ConfigFile, script: string): Promise<Gateway> => {
  const configFile = join(dir, `${name}.json`)
  writeFileSync(configFile, JSON.stringify({ ...config, listen: { host: "127.0.0.1", port: 0 } }, null, 2))
  const service = await start({
    name,
    args: [...gatewayNodeFlags, script, "--config", configFile],
    env: { PORT: "0" },
    cwd: root,
    ready: /MCP gateway listening on (http:\/\/[^\s]+)/,
    logFile: join(dir, `${name}.log`)
  })
  const url = service.ready[1] ?? ""
  // Ready means every backend is ready: the numbers must not include a backend's start.
  const client = makeClient(url)
  try {
    const deadline = performance.now() + 30_000
    for (;;) {
      const health = JSON.parse((await client.request("GET", "/healthz")).body) as {
        status: string
        backends: ReadonlyArray<{ state: string; pid?: number }>
      }
      if (health.status === "ok") {
        return { ...service, url, backendPids: health.backends.flatMap((b) => (b.pid === undefined ? [] : [b.pid])) }
      }
      if (performance.now() > deadline) throw new Error(`${name}: backends not ready: ${JSON.stringify(health)}`)
      await sleep(50)
    }
  } catch (error) {
    await service.stop()
    throw error
  } finally {
    client.close()
  }
}

const stop = async (gateway: Gateway) => {
  const code = await gateway.stop()
  // The gateway ends its backends' process groups as it stops; give them a moment, then look.
  const deadline = performance.now() + 5_000
  while (gateway.backendPids.some(isAlive) && performance.now() < deadline) await sleep(50)
  const left = gateway.backendPids.filter(isAlive)
  cleanupLines.push(
    `${gateway.name}: exited (${code}); backend pids ${gateway.backendPids.join(", ")}: ${
      left.length === 0 ? "all gone" : `STILL RUNNING: ${left.join(", ")}`
    }`
  )
}

/**
 * A gateway for the life of the enclosing scope: stopped (and its backends checked) when the scope closes.
 * `script` is src/main.ts unless given.
 */
export const gateway = (dir: string, name: string, config: ConfigFile, script: string = mainScript) =>
  Effect.acquireRelease(Effect.promise(() => launch(dir, name, config, script)), (g) => Effect.promise(() => stop(g)))
