import type { JSONRPCResponse, RequestId } from "@modelcontextprotocol/client"
import { Clock, Effect, Exit, Queue } from "effect"
import { RequestTimedOut } from "./BackendErrors.ts"

/** A request sent to a backend and not answered yet, under the gateway's own id. */
export interface Entry<E> {
  readonly callerId: RequestId
  readonly method: string
  readonly timeoutMillis: number
  readonly deadline: number
  /** Called once, with the answer (the caller's id restored) or why there is none. */
  readonly onDone: (exit: Exit.Exit<JSONRPCResponse, E | RequestTimedOut>) => void
  /** Aborts the request's own HTTP stream: how a modern-era request is cancelled. */
  readonly abort: AbortController | undefined
  /** Who sent it (a session id), so a request the backend makes meanwhile can be taken to its cause. */
  readonly owner?: string | undefined
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
 * Completion is a callback, so a request costs no fiber of its own; `Backend` wraps it in an Effect for
 * callers that want one. The callback is all a caller waits on, so a deadline holds even when sending never
 * completes. The map is touched only synchronously (no `yield*` between a read and its write): by the transport's
 * callbacks, by callers registering and forgetting, and by the sweeper.
 */
export const make = <E>(options: {
  readonly serverId: string
  /** Runs for each expired request (the backend cancels it there). */
  readonly onTimeout: (id: number, entry: Entry<E>) => void
}) =>
  Effect.gen(function*() {
    const entries = new Map<number, Entry<E>>()
    const clock = yield* Clock.Clock
    const wake = yield* Effect.acquireRelease(Queue.sliding<void>(1), Queue.shutdown)
    let sweeperTarget = Number.POSITIVE_INFINITY

    const sweep = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      let earliest = Number.POSITIVE_INFINITY
      for (const [id, entry] of entries) {
        if (entry.deadline > now) {
          if (entry.deadline < earliest) earliest = entry.deadline
          continue
        }
        entries.delete(id) // deleting the current entry while iterating a Map is safe
        entry.onDone(
          Exit.fail(
            new RequestTimedOut({ serverId: options.serverId, method: entry.method, timeoutMillis: entry.timeoutMillis })
          )
        )
        options.onTimeout(id, entry)
      }
      sweeperTarget = earliest
      if (earliest === Number.POSITIVE_INFINITY) return yield* Queue.take(wake)
      yield* Effect.raceFirst(Effect.sleep(earliest - now), Queue.take(wake))
    })
    yield* Effect.forkScoped(Effect.forever(sweep))

    return {
      register: (
        id: number,
        request: {
          readonly callerId: RequestId
          readonly method: string
          readonly abort: AbortController | undefined
          readonly owner?: string | undefined
        },
        timeoutMillis: number,
        onDone: Entry<E>["onDone"]
      ) => {
        // The Clock service's own reading: virtual under TestClock, like the sweeper's sleeps.
        const deadline = clock.currentTimeMillisUnsafe() + timeoutMillis
        entries.set(id, { ...request, timeoutMillis, deadline, onDone })
        if (deadline < sweeperTarget) {
          sweeperTarget = deadline
          Queue.offerUnsafe(wake, undefined)
        }
      },
      /** The backend answered: complete the caller's reply with its own id restored. */
      settle: (id: number, response: JSONRPCResponse) => {
        const entry = entries.get(id)
        if (entry === undefined) return // a late answer to a request that timed out or was cancelled
        entries.delete(id)
        entry.onDone(Exit.succeed({ ...response, id: entry.callerId }))
      },
      /** The request could not be delivered. */
      fail: (id: number, error: E) => {
        const entry = entries.get(id)
        if (entry === undefined) return
        entries.delete(id)
        entry.onDone(Exit.fail(error))
      },
      /** The owners with requests in flight now. */
      owners: (): ReadonlySet<string> => {
        const owners = new Set<string>()
        for (const entry of entries.values()) if (entry.owner !== undefined) owners.add(entry.owner)
        return owners
      },
      /** Drops a request nobody waits for any more; the entry if it was still in flight. */
      forget: (id: number): Entry<E> | undefined => {
        const entry = entries.get(id)
        entries.delete(id)
        return entry
      },
      /** The connection ended: every caller gets `error` at once. */
      failAll: (error: (entry: Entry<E>) => E) => {
        const all = [...entries.values()]
        entries.clear()
        for (const entry of all) entry.onDone(Exit.fail(error(entry)))
      }
    }
  })

export type InFlight<E> = Effect.Success<ReturnType<typeof make<E>>>
