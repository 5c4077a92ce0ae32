import type { JSONRPCResponse, RequestId } from "@modelcontextprotocol/client"
import { Clock, Deferred, Effect, Exit, Queue } from "effect"
import { type BackendClosed, RequestTimedOut } from "./BackendErrors.ts"

/** A request sent to a backend and not answered yet, under the gateway's own id. */
export interface Entry {
  readonly callerId: RequestId
  readonly method: string
  readonly timeoutMillis: number
  readonly deadline: number
  readonly reply: Deferred.Deferred<JSONRPCResponse, BackendClosed | RequestTimedOut>
}

/**
 * The requests in flight on one backend connection, each with a deadline.
 *
 * One sweeper fiber enforces every deadline: it sleeps (on the Effect `Clock`, so `TestClock` drives it)
 * until the earliest one, fails what has expired with `RequestTimedOut`, and sleeps again. A timeout per
 * request (a racing sleep fiber each) cost a third of the throughput at 32 requests in flight; here a
 * request costs a map entry. Deadlines of one backend mostly share one timeout, so they arrive in order
 * and the sweeper is woken early only when a shorter one jumps the queue.
 *
 * The map is touched only synchronously (no `yield*` between a read and its write): by the transport's
 * message callback, by callers registering and forgetting, and by the sweeper.
 */
export const make = Effect.fnUntraced(function*(options: {
  readonly serverId: string
  /** Runs for each expired request (the backend sends `notifications/cancelled`). */
  readonly onTimeout: (id: number) => Effect.Effect<void>
}) {
  const entries = new Map<number, Entry>()
  const wake = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)
  let sweeperTarget = Number.POSITIVE_INFINITY

  const sweep = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    let earliest = Number.POSITIVE_INFINITY
    const expired: Array<number> = []
    for (const [id, entry] of entries) {
      if (entry.deadline <= now) expired.push(id)
      else if (entry.deadline < earliest) earliest = entry.deadline
    }
    for (const id of expired) {
      const entry = entries.get(id)
      if (entry === undefined) continue
      entries.delete(id)
      Deferred.doneUnsafe(
        entry.reply,
        Exit.fail(new RequestTimedOut({ serverId: options.serverId, method: entry.method, timeoutMillis: entry.timeoutMillis }))
      )
      yield* options.onTimeout(id)
    }
    sweeperTarget = earliest
    if (earliest === Number.POSITIVE_INFINITY) return yield* Queue.take(wake)
    yield* Effect.raceFirst(Effect.sleep(earliest - now), Queue.take(wake))
  })
  yield* Effect.forkScoped(Effect.forever(sweep))

  return {
    register: Effect.fnUntraced(function*(id: number, callerId: RequestId, method: string, timeoutMillis: number) {
      const deadline = (yield* Clock.currentTimeMillis) + timeoutMillis
      const reply = Deferred.makeUnsafe<JSONRPCResponse, BackendClosed | RequestTimedOut>()
      entries.set(id, { callerId, method, timeoutMillis, deadline, reply })
      if (deadline < sweeperTarget) {
        sweeperTarget = deadline
        Queue.offerUnsafe(wake, undefined)
      }
      return reply
    }),
    /** The backend answered: complete the caller's reply with its own id restored. */
    settle: (id: number, response: JSONRPCResponse) => {
      const entry = entries.get(id)
      if (entry === undefined) return // a late answer to a request that timed out or was cancelled
      entries.delete(id)
      Deferred.doneUnsafe(entry.reply, Exit.succeed({ ...response, id: entry.callerId }))
    },
    /** Drops a request nobody waits for any more; true if it was still in flight. */
    forget: (id: number) => entries.delete(id),
    /** The connection ended: every caller gets `error` at once. */
    failAll: (error: (entry: Entry) => BackendClosed) => {
      for (const entry of entries.values()) Deferred.doneUnsafe(entry.reply, Exit.fail(error(entry)))
      entries.clear()
    }
  }
})

export type InFlight = Effect.Success<ReturnType<typeof make>>
