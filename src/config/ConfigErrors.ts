import { Schema } from "effect"

/**
 * One thing wrong with a config, located by a JSON path such as `mcpServers.everything.command` or
 * `clients.alice.servers[1]`. `path` is "" for a problem with the whole file (unreadable, not JSON).
 */
export const ConfigProblem = Schema.Struct({ path: Schema.String, message: Schema.String })
export type ConfigProblem = typeof ConfigProblem.Type

/**
 * A config that cannot be used. `source` says where it came from: a file path, `"embedded default"`,
 * or an environment variable. The message lists every problem, one per line, so a user fixes them all
 * in one pass instead of one per restart.
 */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  source: Schema.String,
  problems: Schema.Array(ConfigProblem)
}) {
  override get message() {
    const count = this.problems.length === 1 ? "1 problem" : `${this.problems.length} problems`
    const lines = this.problems.map((problem) => `  ${formatProblem(problem)}`)
    return [`invalid config (${this.source}): ${count}`, ...lines].join("\n")
  }
}

export const formatProblem = (problem: ConfigProblem): string =>
  problem.path === "" ? problem.message : `${problem.path}: ${problem.message}`

// Keys that read unambiguously after a dot; anything else (spaces, dots, quotes) is bracketed and quoted.
const plainKey = /^[A-Za-z0-9_$-]+$/

/** Renders a path as JavaScript-like accessors: `["mcpServers", "a b", "args", 1]` → `mcpServers["a b"].args[1]`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((out, segment) => {
    if (typeof segment === "number") return `${out}[${segment}]`
    const key = String(segment)
    if (!plainKey.test(key)) return `${out}[${JSON.stringify(key)}]`
    return out === "" ? key : `${out}.${key}`
  }, "")

/** Orders problems by path (numbers in paths compare as numbers), so reports are stable and grouped. */
export const sortProblems = (problems: ReadonlyArray<ConfigProblem>): ReadonlyArray<ConfigProblem> =>
  [...problems].sort((a, b) => a.path.localeCompare(b.path, "en", { numeric: true }))
