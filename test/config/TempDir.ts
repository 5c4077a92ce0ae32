import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import * as ConfigLoader from "../../src/config/ConfigLoader.ts"

/** A fresh directory under the OS temp dir, removed when the test's Scope closes. */
export const make = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "mcp-gateway-config-test-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

/** Writes `content` (a string as is, anything else as JSON) to `dir/name` and returns the file's path. */
export const writeFile = (dir: string, name: string, content: unknown) =>
  Effect.promise(async () => {
    const file = path.join(dir, name)
    await fs.writeFile(file, typeof content === "string" ? content : JSON.stringify(content, null, 2))
    return file
  })

/** The environment with the default config's scratch directory moved to a fresh temp dir of the test's. */
const withScratch = (env: Record<string, string | undefined>) =>
  Effect.map(make, (dir) => ({ MCP_GATEWAY_SCRATCH_DIR: path.join(dir, "scratch"), ...env }))

/** ConfigLoader.load, with the embedded default's scratch directory inside a temp dir removed afterwards. */
export const load = (argv: ReadonlyArray<string>, env: Record<string, string | undefined>) =>
  Effect.flatMap(withScratch(env), (scratchEnv) => ConfigLoader.load(argv, scratchEnv))

/** ConfigLoader.fromDefault, its scratch directory inside a temp dir removed afterwards. */
export const fromDefault = (env: Record<string, string | undefined>) =>
  Effect.flatMap(withScratch(env), (scratchEnv) => ConfigLoader.fromDefault(scratchEnv))
