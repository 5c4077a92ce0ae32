import type { JSONRPCResponse, RequestId } from "@modelcontextprotocol/client"
import { Clock, Deferred, Effect, Exit, Queue } from "effect"
import { RequestTimedOut } from "./BackendErrors.ts"

/** A request sent to a backend and not answered yet, under the gateway's own id. */
export interface Entry<E> {
  readonly callerId: RequestId
  readonly method: string
  readonly timeoutMillis: number
  readonly deadline: number
  readonly reply: Deferred.Deferred<JSONRPCResponse, E | RequestTimedOut>
  /** Aborts the request's own HTTP stream: how a modern-era request is cancelled. */
  readonly abort: AbortController | undefined
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
 * The reply is the only thing a caller waits on, so a deadline holds even when sending never completes.
 * The map is touched only synchronously (no `yield*` between a read and its write): by the transport's
 * callbacks, by callers registering and forgetting, and by the sweeper.
 */
export const make = <E>(options: {
  readonly serverId: string
  /** Runs for each expired request (the backend cancels it there). */
  readonly onTimeout: (id: number, entry: Entry<E>) => void
}) =>
  Effect.gen(function*() {
    const entries = new Map<number, Entry<E>>()
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
        Deferred.doneUnsafe(
          entry.reply,
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
      register: Effect.fnUntraced(function*(
        id: number,
        request: { readonly callerId: RequestId; readonly method: string; readonly abort: AbortController | undefined },
        timeoutMillis: number
      ) {
        const deadline = (yield* Clock.currentTimeMillis) + timeoutMillis
        const reply = Deferred.makeUnsafe<JSONRPCResponse, E | RequestTimedOut>()
        entries.set(id, { ...request, timeoutMillis, deadline, reply })
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
      /** The request could not be delivered. */
      fail: (id: number, error: E) => {
        const entry = entries.get(id)
        if (entry === undefined) return
        entries.delete(id)
        Deferred.doneUnsafe(entry.reply, Exit.fail(error))
      },
      /** Drops a request nobody waits for any more; the entry if it was still in flight. */
      forget: (id: number): Entry<E> | undefined => {
        const entry = entries.get(id)
        entries.delete(id)
        return entry
      },
      /** The connection ended: every caller gets `error` at once. */
      failAll: (error: (entry: Entry<E>) => E) => {
        for (const entry of entries.values()) Deferred.doneUnsafe(entry.reply, Exit.fail(error(entry)))
        entries.clear()
      }
    }
  })

export type InFlight<E> = Effect.Success<ReturnType<typeof make<E>>>
