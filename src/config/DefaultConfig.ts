import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as path from "node:path"
import { Effect, Redacted, Result, Schema } from "effect"
import { ConfigError, type ConfigProblem } from "./ConfigErrors.ts"
import type { ConfigFile } from "./ConfigSchema.ts"
import type { Environment } from "./EnvExpansion.ts"

// The config used when none is given: the MCP reference servers installed as dependencies, run on the Node
// binary running the gateway (the pinned Node 24 under npm), and one client `dev` allowed every server.

export const source = "embedded default"

export interface DefaultConfig {
  /** The config in file form: it is decoded like any other config, so defaults and rules apply to it too. */
  readonly file: ConfigFile
  /** Set when `MCP_GATEWAY_TOKEN` was not, so the service prints the token it generated once at start. */
  readonly generatedToken: Redacted.Redacted<string> | undefined
}

const require = createRequire(import.meta.url)

const PackageManifest = Schema.fromJsonString(Schema.Struct({
  bin: Schema.Union([Schema.String, Schema.Record(Schema.String, Schema.String)])
}))

const describe = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

/**
 * The absolute path of a package's (first) `bin` file, read from its package.json and checked to exist.
 * Fails with the problem to report at `mcpServers.<id>`.
 */
const resolveBin = Effect.fnUntraced(function*(id: string, packageName: string) {
  const problem = (message: string): ConfigProblem => ({ path: `mcpServers.${id}`, message })
  const manifestPath = yield* Effect.try({
    try: () => require.resolve(`${packageName}/package.json`),
    catch: (cause) => problem(`${packageName} is not installed (${describe(cause)})`)
  })
  const text = yield* Effect.tryPromise({
    try: () => fs.readFile(manifestPath, "utf8"),
    catch: (cause) => problem(`cannot read ${manifestPath} (${describe(cause)})`)
  })
  const manifest = yield* Schema.decodeUnknownEffect(PackageManifest)(text).pipe(
    Effect.mapError(() => problem(`${manifestPath} has no usable "bin" field`))
  )
  const bin = typeof manifest.bin === "string" ? manifest.bin : Object.values(manifest.bin)[0]
  if (bin === undefined) return yield* Effect.fail(problem(`${manifestPath} has an empty "bin" field`))
  const entry = path.resolve(path.dirname(manifestPath), bin)
  yield* Effect.tryPromise({
    try: () => fs.access(entry),
    catch: () => problem(`the entry file ${entry} of ${packageName} does not exist`)
  })
  return entry
})

const packages = {
  everything: "@modelcontextprotocol/server-everything",
  memory: "@modelcontextprotocol/server-memory",
  filesystem: "@modelcontextprotocol/server-filesystem"
} as const

/**
 * Builds the embedded default config. `scratchDir` receives what the servers write (the memory server's
 * graph, the filesystem server's allowed directory `files/`, created here) so nothing lands in node_modules.
 */
export const make = Effect.fn("DefaultConfig.make")(function*(env: Environment, scratchDir: string) {
  const filesDir = path.join(scratchDir, "files")
  yield* Effect.tryPromise({
    try: () => fs.mkdir(filesDir, { recursive: true }),
    catch: (cause) =>
      new ConfigError({ source, problems: [{ path: "", message: `cannot create ${filesDir} (${describe(cause)})` }] })
  })

  const resolved = yield* Effect.forEach(
    Object.entries(packages),
    ([id, packageName]) => Effect.result(resolveBin(id, packageName)).pipe(Effect.map((entry) => [id, entry] as const))
  )
  // Every missing package is reported, not only the first.
  const problems: Array<ConfigProblem> = []
  const entries: Record<string, string> = {}
  for (const [id, entry] of resolved) {
    if (Result.isSuccess(entry)) entries[id] = entry.success
    else problems.push(entry.failure)
  }
  const { everything, memory, filesystem } = entries
  if (everything === undefined || memory === undefined || filesystem === undefined) {
    return yield* new ConfigError({ source, problems })
  }

  // An empty MCP_GATEWAY_TOKEN counts as unset: an empty token would let anyone in.
  const given = env.MCP_GATEWAY_TOKEN
  const token = given !== undefined && given !== ""
    ? { value: given, generated: false }
    : { value: yield* Effect.sync(() => randomBytes(24).toString("base64url")), generated: true }
  const node = process.execPath
  const file: ConfigFile = {
    mcpServers: {
      everything: { command: node, args: [everything, "stdio"], cwd: scratchDir },
      memory: {
        command: node,
        args: [memory],
        env: { MEMORY_FILE_PATH: path.join(scratchDir, "memory.jsonl") },
        cwd: scratchDir
      },
      filesystem: { command: node, args: [filesystem, filesDir], cwd: scratchDir }
    },
    clients: {
      dev: { token: token.value, servers: "*" }
    }
  }
  const result: DefaultConfig = {
    file,
    generatedToken: token.generated ? Redacted.make(token.value) : undefined
  }
  return result
})
