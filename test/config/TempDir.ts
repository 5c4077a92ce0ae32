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

/** ConfigLoader.load, removing the scratch directory of the embedded default (if it made one) afterwards. */
export const load = (argv: ReadonlyArray<string>, env: Record<string, string | undefined>) =>
  Effect.acquireRelease(ConfigLoader.load(argv, env), (loaded) =>
    loaded.scratchDir === undefined
      ? Effect.void
      : Effect.promise(() => fs.rm(loaded.scratchDir ?? "", { recursive: true, force: true })))

/** ConfigLoader.fromDefault, removing its scratch directory afterwards. */
export const fromDefault = (env: Record<string, string | undefined>) =>
  Effect.acquireRelease(ConfigLoader.fromDefault(env), ({ scratchDir }) =>
    Effect.promise(() => fs.rm(scratchDir, { recursive: true, force: true })))
