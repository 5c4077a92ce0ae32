import { spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { createServer } from "node:net"
import { Effect, Schedule } from "effect"

/** True while the process exists and is not a zombie (pid 1 here reaps orphans only every ~2 s). */
export const isRunning = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The state letter follows the command name in parentheses, which may itself contain spaces.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return false
  }
}

/** Waits (real time) until the process is gone; fails after `millis`. */
export const awaitGone = (pid: number, millis = 5_000) =>
  Effect.suspend(() => (isRunning(pid) ? Effect.fail(`process ${pid} still running`) : Effect.void)).pipe(
    Effect.retry({ schedule: Schedule.spaced("25 millis"), times: Math.ceil(millis / 25) })
  )

export const freePort = Effect.promise(() =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
)

/**
 * A server process for the length of the scope, in its own process group so the whole group is killed
 * at the end. Resolves once `ready` matches a line of its output (stdout or stderr).
 */
export const serve = (command: string, args: ReadonlyArray<string>, env: Record<string, string>, ready: RegExp) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly pid: number; readonly output: ReadonlyArray<string> }, string>((resume) => {
      const child = spawn(command, [...args], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true
      })
      const output: Array<string> = []
      let done = false
      const onData = (chunk: Buffer) => {
        output.push(chunk.toString())
        if (!done && ready.test(output.join(""))) {
          done = true
          resume(Effect.succeed({ pid: child.pid ?? -1, output }))
        }
      }
      child.stdout.on("data", onData)
      child.stderr.on("data", onData)
      child.once("exit", (code) => {
        if (!done) resume(Effect.fail(`server exited with ${code} before it was ready: ${output.join("")}`))
      })
    }),
    ({ pid }) =>
      Effect.sync(() => {
        try {
          process.kill(-pid, "SIGKILL")
        } catch {
          // already gone
        }
      }).pipe(Effect.andThen(awaitGone(pid).pipe(Effect.ignore)))
  )

/** The live (non-zombie) processes of a process group, read from /proc. */
export const groupMembers = (pgid: number): ReadonlyArray<number> => {
  const members: Array<number> = []
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      // fields[0] is the state, fields[2] the process group id
      if (fields[0] !== "Z" && Number(fields[2]) === pgid) members.push(Number(entry))
    } catch {
      // the process ended while we looked
    }
  }
  return members
}
