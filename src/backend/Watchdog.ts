import { spawn } from "node:child_process"
import { Context, Effect, Layer } from "effect"

/**
 * Kills backend process groups if the gateway dies without closing them (SIGKILL, OOM, a crash).
 *
 * Detached children (each backend runs in its own process group) get no signal when the gateway dies; a
 * server that ignores stdin EOF would live forever. The watchdog is a tiny `sh` process in a session of
 * its own that reads `+pgid` / `-pgid` lines on stdin; when stdin reaches EOF (the gateway is gone,
 * however it died) it TERMs every group still registered and KILLs what is left 2 s later.
 */
const script = `
groups=" "
while read -r line; do
  case "$line" in
    +*) groups="$groups\${line#+} " ;;
    -*) groups=$(printf '%s' "$groups" | sed "s/ \${line#-} / /") ;;
  esac
done
[ -z "$(printf '%s' "$groups" | tr -d ' ')" ] && exit 0
for g in $groups; do kill -TERM -$g 2>/dev/null; done
sleep 2
for g in $groups; do kill -KILL -$g 2>/dev/null; done
`

/** What a stdio transport tells the watchdog: synchronous, because process callbacks are not effects. */
export interface GroupTracker {
  readonly add: (pgid: number) => void
  readonly remove: (pgid: number) => void
}

export class Watchdog extends Context.Service<Watchdog, GroupTracker>()("mcp-gateway/backend/Watchdog") {
  static readonly layer = Layer.effect(
    Watchdog,
    Effect.gen(function*() {
      // Groups alive right now: the `exit` hook below signals them synchronously on a normal process exit,
      // which is quicker than the watchdog's EOF path and also covers `process.exit()` from anywhere.
      const live = new Set<number>()
      const child = yield* Effect.acquireRelease(
        Effect.sync(() => spawn("/bin/sh", ["-c", script], { detached: true, stdio: ["pipe", "ignore", "ignore"] })),
        (child) => Effect.sync(() => child.stdin?.end())
      )
      child.on("error", () => {}) // no sh: the exit hook and the transports' own cleanup still apply
      child.unref()
      const stdin = child.stdin
      // The pipe must not keep the event loop alive on its own, nor crash us if the watchdog is gone.
      stdin?.on("error", () => {})
      if (stdin !== null && "unref" in stdin && typeof stdin.unref === "function") stdin.unref()
      const write = (line: string) => {
        if (stdin !== null && stdin.writable) stdin.write(line + "\n")
      }
      const onExit = () => {
        for (const pgid of live) {
          try {
            process.kill(-pgid, "SIGTERM")
          } catch {
            // already gone
          }
        }
      }
      process.on("exit", onExit)
      yield* Effect.addFinalizer(() => Effect.sync(() => process.off("exit", onExit)))
      return Watchdog.of({
        add: (pgid) => {
          live.add(pgid)
          write(`+${pgid}`)
        },
        remove: (pgid) => {
          live.delete(pgid)
          write(`-${pgid}`)
        }
      })
    })
  )

  /** For code that runs backends without the watchdog (it still closes its children on scope close). */
  static readonly layerNone = Layer.succeed(Watchdog, Watchdog.of({ add: () => {}, remove: () => {} }))
}
