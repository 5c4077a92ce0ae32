import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"

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
