/**
 * Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, its `server` command) against an
 * MCP endpoint URL, for one spec revision's requirement set:
 * `conformance server --url <url> --requirements <revision> [--expected-failures <file>]`.
 *
 * The CLI runs as a child process on this Node (`process.execPath`: the suite needs Node >= 22, and the package's
 * own launcher would pick whatever `node` is on PATH). It is killed if the running effect is interrupted (a test
 * timeout), so no suite process outlives its test. It writes no result files (no `-o`).
 */
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Clock, Effect } from "effect"

const require = createRequire(import.meta.url)
const conformancePackageJson = require.resolve("@modelcontextprotocol/conformance/package.json")
const conformanceBinPath = (require(conformancePackageJson) as { bin: Record<string, string> }).bin["conformance"]
if (conformanceBinPath === undefined) throw new Error("@modelcontextprotocol/conformance: no `conformance` bin")

/** The suite's CLI entry point (run it with `process.execPath`). */
export const conformanceBin: string = join(dirname(conformancePackageJson), conformanceBinPath)

/** The known-failures baseline for the fixture server (`test/fixtures/conformance-server.ts`), both revisions. */
export const fixtureExpectedFailures: string = fileURLToPath(new URL("./expected-failures.yml", import.meta.url))

/** The spec revisions with a frozen requirement set in the suite. */
export type Requirements = "2025-11-25" | "2026-07-28"

export interface Options {
  /** The MCP endpoint, e.g. `http://127.0.0.1:PORT/mcp`. DNS-rebinding checks need a localhost URL. */
  readonly url: string | URL
  readonly requirements: Requirements
  /** A YAML baseline of known failures (`server:` list). With it, only scored scenarios decide the exit code. */
  readonly expectedFailures?: string
  /** Extra environment for the CLI (e.g. `NO_COLOR`). */
  readonly env?: Record<string, string>
}

export interface Result {
  /** The CLI's exit code: 0 when every scored scenario passed (or failed as the baseline expects). */
  readonly exitCode: number
  /** stdout and stderr, interleaved as they arrived. */
  readonly output: string
  /** The `Total: N passed, M failed` line of the summary (every scenario run, scored or not), when printed. */
  readonly checks: { readonly passed: number; readonly failed: number } | undefined
  /** Each scenario run (scored or not) by name: whether it passed outright (no failure, no warning). */
  readonly scenarios: ReadonlyMap<string, boolean>
  /** Wall time of the run. */
  readonly millis: number
}

const totalLine = /^Total: (\d+) passed, (\d+) failed/m
/** A summary line: `✓ <scenario>: N passed, M failed[, K warnings]` (✗ when something failed or warned). */
const scenarioLine = /^([✓✗]) (\S+): \d+ passed, \d+ failed/gm

const scenariosOf = (output: string): ReadonlyMap<string, boolean> =>
  new Map([...output.matchAll(scenarioLine)].map((match) => [match[2] ?? "", match[1] === "✓"]))

/**
 * The scenarios that pass against a server alone and not through the gateway in front of it: the gateway's faults,
 * whether the scenario is scored or not (an expected-failures file judges only scored ones, and must not hide them).
 */
export const regressions = (alone: Result, through: Result): ReadonlyArray<string> =>
  [...alone.scenarios].filter(([name, passed]) => passed && through.scenarios.get(name) !== true).map(([name]) => name)

/** Runs the suite once; never fails (a CLI that cannot start reports exit code -1 and the error as output). */
export const run = (options: Options): Effect.Effect<Result> =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const args = [
      conformanceBin,
      "server",
      "--url",
      String(options.url),
      "--requirements",
      options.requirements,
      ...(options.expectedFailures === undefined ? [] : ["--expected-failures", options.expectedFailures])
    ]
    const { exitCode, output } = yield* Effect.callback<{ readonly exitCode: number; readonly output: string }>(
      (resume) => {
        const child = spawn(process.execPath, args, {
          env: { ...process.env, NO_COLOR: "1", ...options.env },
          stdio: ["ignore", "pipe", "pipe"]
        })
        const chunks: Array<string> = []
        child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk.toString()))
        child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk.toString()))
        child.once("error", (error) => resume(Effect.succeed({ exitCode: -1, output: String(error) })))
        child.once("close", (code, signal) => {
          const killed = signal === null ? "" : `\n[killed by ${signal}]`
          resume(Effect.succeed({ exitCode: code ?? -1, output: chunks.join("") + killed }))
        })
        return Effect.sync(() => {
          child.kill("SIGKILL")
        })
      }
    )
    const total = totalLine.exec(output)
    return {
      exitCode,
      output,
      checks: total === null ? undefined : { passed: Number(total[1]), failed: Number(total[2]) },
      scenarios: scenariosOf(output),
      millis: (yield* Clock.currentTimeMillis) - started
    }
  })
