import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, type Redacted, Result, type SchemaAST, SchemaIssue, SchemaParser } from "effect"
import { ConfigError, type ConfigProblem, formatPath, sortProblems } from "./ConfigErrors.ts"
import * as ConfigRules from "./ConfigRules.ts"
import { Config, parseOptions } from "./ConfigSchema.ts"
import * as DefaultConfig from "./DefaultConfig.ts"
import * as EnvExpansion from "./EnvExpansion.ts"
import type { Environment } from "./EnvExpansion.ts"

export interface LoadedConfig {
  readonly config: Config
  /** Where the config came from: the config file's absolute path, or "embedded default". */
  readonly source: string
  /** The token generated for the default `dev` client, to print once at start. */
  readonly generatedToken?: Redacted.Redacted<string>
  /** The directory made for the embedded default's servers to write in (the caller may remove it at exit). */
  readonly scratchDir?: string
}

const describe = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

const fileProblem = (source: string, message: string) => new ConfigError({ source, problems: [{ path: "", message }] })

// --- decoding --------------------------------------------------------------------------------------

const unknownKey = (ast: SchemaAST.AST) => {
  if (ast._tag !== "Objects" || ast.propertySignatures.length === 0) return "unknown key"
  const keys = ast.propertySignatures.map((signature) => String(signature.name))
  return `unknown key (expected one of: ${keys.join(", ")})`
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) => {
    switch (issue._tag) {
      case "MissingKey":
        return "is required"
      case "UnexpectedKey":
        return unknownKey(issue.ast)
      default:
        return SchemaIssue.defaultLeafHook(issue)
    }
  }
})

const schemaProblems = (issue: SchemaIssue.Issue): ReadonlyArray<ConfigProblem> =>
  formatter(issue).issues.map((problem) => ({
    path: formatPath((problem.path ?? []).map((segment) => typeof segment === "object" ? segment.key : segment)),
    // Effect's "Expected string" reads oddly next to our lower-case messages.
    message: problem.message.replace(/^Expected /, "expected ")
  }))

/** `PORT` overrides `listen.port`; "" counts as unset, as shells make it easy to leave it empty. */
const portOverride = (env: Environment): Result.Result<number | undefined, ConfigProblem> => {
  const raw = env.PORT?.trim()
  if (raw === undefined || raw === "") return Result.succeed(undefined)
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN
  if (port <= 65535) return Result.succeed(port)
  return Result.fail({
    path: "listen.port",
    message: `the PORT environment variable must be an integer from 0 to 65535, got ${JSON.stringify(env.PORT)}`
  })
}
const portSource = "environment variable PORT"

export interface DecodeOptions {
  /** Named in the ConfigError: the file path, "embedded default", ... */
  readonly source: string
  /** Read by `${NAME}` references and for the `PORT` override. */
  readonly env: Environment
  /** Whether to expand `${NAME}` references (default true; the embedded default has none to expand). */
  readonly expandVariables?: boolean
}

/**
 * Decodes a parsed JSON config: expands `${NAME}` from `env`, decodes with every problem collected, checks
 * the cross-field rules, and applies `PORT`. Fails with one ConfigError listing all problems by JSON path.
 */
export const decode = Effect.fn("ConfigLoader.decode")(function*(json: unknown, options: DecodeOptions) {
  const expanded = options.expandVariables === false
    ? { value: json, problems: [] }
    : EnvExpansion.expand(json, options.env)
  // A value left unexpanded ("${TOKEN}") may also fail the schema; the unset variable is the problem to report.
  const unexpanded = new Set(expanded.problems.map((problem) => problem.path))
  const decoded = SchemaParser.decodeUnknownResult(Config)(expanded.value, parseOptions)
  const shape = Result.isFailure(decoded)
    ? schemaProblems(decoded.failure).filter((problem) => !unexpanded.has(problem.path))
    : []
  const port = portOverride(options.env)
  const problems = [
    ...expanded.problems,
    ...shape,
    ...ConfigRules.check(expanded.value),
    ...(Result.isFailure(port) ? [port.failure] : [])
  ]
  if (Result.isFailure(decoded) || Result.isFailure(port) || problems.length > 0) {
    const onlyPort = problems.length === 1 && Result.isFailure(port)
    return yield* new ConfigError({ source: onlyPort ? portSource : options.source, problems: sortProblems(problems) })
  }
  const config = decoded.success
  if (port.success === undefined) return config
  return { ...config, listen: { ...config.listen, port: port.success } }
})

// JSON.parse's "Unexpected token" message quotes the text around the error, which may be a token: drop it.
const jsonErrorMessage = (cause: unknown) => describe(cause).replace(/, ".*" is not valid JSON$/s, "")

/** Parses and decodes the text of a config file. */
export const parse = Effect.fn("ConfigLoader.parse")(function*(text: string, options: DecodeOptions) {
  const json = yield* Effect.try({
    // Editors on Windows may save JSON with a byte order mark, which JSON.parse rejects.
    try: (): unknown => JSON.parse(text.replace(/^\uFEFF/, "")),
    catch: (cause) => fileProblem(options.source, `invalid JSON: ${jsonErrorMessage(cause)}`)
  })
  return yield* decode(json, options)
})

/** Reads, parses and decodes a config file; relative paths are resolved against the working directory. */
export const fromFile = Effect.fn("ConfigLoader.fromFile")(function*(file: string, env: Environment) {
  const source = path.resolve(file)
  const text = yield* Effect.tryPromise({
    try: () => fs.readFile(source, "utf8"),
    catch: (cause) => fileProblem(source, `cannot read the file (${describe(cause)})`)
  })
  return yield* parse(text, { source, env })
})

/**
 * The embedded default config. What its servers write (the memory graph, the filesystem server's files) goes
 * to one fixed directory per user under the OS temp dir: kept across restarts, like a developer expects of
 * a memory server, and never one more directory per start. `MCP_GATEWAY_SCRATCH_DIR` moves it.
 */
export const fromDefault = Effect.fn("ConfigLoader.fromDefault")(function*(env: Environment) {
  const scratchDir = env.MCP_GATEWAY_SCRATCH_DIR !== undefined && env.MCP_GATEWAY_SCRATCH_DIR !== ""
    ? path.resolve(env.MCP_GATEWAY_SCRATCH_DIR)
    : path.join(os.tmpdir(), `mcp-gateway-default-${os.userInfo().uid}`)
  yield* Effect.tryPromise({
    try: () => fs.mkdir(scratchDir, { recursive: true }),
    catch: (cause) => fileProblem(DefaultConfig.source, `cannot create a scratch directory (${describe(cause)})`)
  })
  const { file, generatedToken } = yield* DefaultConfig.make(env, scratchDir)
  const config = yield* decode(file, { source: DefaultConfig.source, env, expandVariables: false })
  return { config, generatedToken, scratchDir }
})

// --- where the config comes from -------------------------------------------------------------------

/** The value of the last `--config FILE` / `--config=FILE` in `argv`, if any. */
const configFlag = (argv: ReadonlyArray<string>): Result.Result<string | undefined, ConfigError> => {
  let file: string | undefined
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]
    if (arg === "--config") {
      file = argv[index + 1]
      if (file === undefined || file === "" || file.startsWith("--")) {
        return Result.fail(fileProblem("command line", "--config needs a file path"))
      }
      index++
    } else if (arg?.startsWith("--config=")) {
      file = arg.slice("--config=".length)
      if (file === "") return Result.fail(fileProblem("command line", "--config needs a file path"))
    }
  }
  return Result.succeed(file)
}

/**
 * Loads the gateway's config: `--config FILE` (or `--config=FILE`) in `argv`, else the file named by
 * `MCP_GATEWAY_CONFIG`, else the embedded default. `PORT` overrides `listen.port` whichever is used.
 * `argv` is the argument list without the node binary and script (`process.argv.slice(2)`).
 */
export const load = Effect.fn("ConfigLoader.load")(
  function*(argv: ReadonlyArray<string>, env: Environment) {
    const flag = configFlag(argv)
    if (Result.isFailure(flag)) return yield* flag.failure
    const fromEnv = env.MCP_GATEWAY_CONFIG === "" ? undefined : env.MCP_GATEWAY_CONFIG
    const file = flag.success ?? fromEnv
    if (file !== undefined) {
      const config = yield* fromFile(file, env)
      const loaded: LoadedConfig = { config, source: path.resolve(file) }
      return loaded
    }
    const { config, generatedToken, scratchDir } = yield* fromDefault(env)
    const loaded: LoadedConfig = generatedToken === undefined
      ? { config, source: DefaultConfig.source, scratchDir }
      : { config, source: DefaultConfig.source, scratchDir, generatedToken }
    return loaded
  }
)
