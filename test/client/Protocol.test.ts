import { assert, describe, it } from "@effect/vitest"
import * as Client from "../../src/client/index.ts"
import * as McpMethods from "../../src/protocol/McpMethods.ts"
import * as Namespacing from "../../src/protocol/Namespacing.ts"
import type { EventData as GatewayEventData } from "../../src/session/SessionEvent.ts"

// The client declares its own copy of the gateway's wire shapes (it may import nothing): these checks fail the
// build, or the test, when the two drift apart.

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
/** Per event: the gateway's data is readable as the client's type of it. */
type Readable = { readonly [K in keyof GatewayEventData]: GatewayEventData[K] extends Client.EventData[K] ? true : false }

const sameEventNames: Same<keyof GatewayEventData, Client.EventName> = true
const readable: Readable = {
  response: true,
  chunk: true,
  notification: true,
  error: true,
  request: true,
  heartbeat: true,
  closed: true
}

describe("the client's copy of the gateway's protocol", () => {
  it("has the gateway's event names, and reads each event's data", () => {
    assert.isTrue(sameEventNames)
    assert.sameMembers(Object.keys(readable), ["response", "chunk", "notification", "error", "request", "heartbeat", "closed"])
  })

  it("BROADCAST_METHODS and the name helpers agree with the gateway's", () => {
    assert.deepStrictEqual([...Client.BROADCAST_METHODS], [...McpMethods.broadcastMethods])
    assert.strictEqual(Client.SEPARATOR, Namespacing.Separator)
    for (const name of ["fs__read_file", "fs__tools/call", "a__b__c", "a___b", "fs-1__x", "__x", "x__", "plain", "a b__c"]) {
      const parsed = Client.parseNamespaced(name)
      const split = Namespacing.split(name)
      assert.deepStrictEqual(parsed && { serverId: parsed.server, name: parsed.name }, split, name)
      if (parsed !== undefined) assert.strictEqual(Client.namespaced(parsed.server, parsed.name), name)
    }
  })
})
