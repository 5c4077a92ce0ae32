import type { Client } from "@modelcontextprotocol/client"
import { assert } from "@effect/vitest"
import { Effect } from "effect"

/**
 * Starts a slow call through `client`, gives up on it after 300 ms, and checks that the backend saw it cancelled:
 * the fixture's `aborted` tool (of `server`, namespaced) counts the calls it was told to stop.
 */
export const abandonedCallIsCancelled = (client: Client, server: string) =>
  Effect.gen(function*() {
    const aborted = () =>
      Effect.promise(() => client.callTool({ name: `${server}__aborted`, arguments: {} })).pipe(
        Effect.map((result) => Number((result.content as Array<{ text: string }>)[0]?.text))
      )
    const before = yield* aborted()
    const controller = new AbortController()
    const call = client.callTool({ name: `${server}__slow`, arguments: { ms: 10_000 } }, { signal: controller.signal })
      .catch(() => "aborted")
    yield* Effect.sleep("300 millis")
    controller.abort()
    assert.strictEqual(yield* Effect.promise(() => call), "aborted")
    let after = before
    for (let attempt = 0; attempt < 40 && after === before; attempt++) {
      yield* Effect.sleep("50 millis")
      after = yield* aborted()
    }
    assert.strictEqual(after, before + 1)
  })
