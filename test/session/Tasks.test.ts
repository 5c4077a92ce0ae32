import { assert, describe, it } from "@effect/vitest"
import * as Tasks from "../../src/session/Tasks.ts"

const status = (taskId: string, state = "working") => ({
  jsonrpc: "2.0" as const,
  method: "notifications/tasks/status",
  params: { taskId, status: state }
})

describe("Tasks", () => {
  it("holds a status that comes before its task is known, and delivers it once the answer names the task", () => {
    const tasks = Tasks.make()
    tasks.creatingStarted()
    assert.isUndefined(tasks.status("srv", status("t1")))
    const created = tasks.created("srv", { jsonrpc: "2.0", id: 1, result: { task: { taskId: "t1", status: "working" } } })
    assert.deepStrictEqual(created.response, { jsonrpc: "2.0", id: 1, result: { task: { taskId: "srv__t1", status: "working" } } })
    assert.deepStrictEqual(created.statuses.map((n) => n.params?.["taskId"]), ["srv__t1"])
    assert.strictEqual(tasks.status("srv", status("t1", "completed"))?.params?.["taskId"], "srv__t1")
  })

  it("drops statuses of tasks that are not the session's, held or not", () => {
    const tasks = Tasks.make()
    assert.isUndefined(tasks.status("srv", status("someone-elses")))
    tasks.creatingStarted()
    tasks.status("srv", status("someone-elses"))
    const created = tasks.created("srv", { jsonrpc: "2.0", id: 1, result: { task: { taskId: "mine" } } })
    assert.deepStrictEqual(created.statuses, [])
  })

  it("routes tasks/* by the namespaced id, and refuses another session's task", () => {
    const tasks = Tasks.make()
    tasks.creatingStarted()
    tasks.created("srv", { jsonrpc: "2.0", id: 1, result: { task: { taskId: "t1" } } })
    const owned = tasks.route({ jsonrpc: "2.0", id: 2, method: "tasks/get", params: { taskId: "srv__t1" } })
    assert.strictEqual(owned?._tag, "Owned")
    if (owned?._tag === "Owned") assert.strictEqual(owned.message.params?.["taskId"], "t1")
    const foreign = tasks.route({ jsonrpc: "2.0", id: 3, method: "tasks/get", params: { taskId: "srv__t9" } })
    assert.deepStrictEqual(foreign, { _tag: "NotOwned", serverId: "srv" })
    assert.isUndefined(tasks.route({ jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "x" } }))
    assert.deepStrictEqual(
      tasks.answer({ jsonrpc: "2.0", id: 2, result: { taskId: "t1", status: "working" } }, "srv__t1"),
      { jsonrpc: "2.0", id: 2, result: { taskId: "srv__t1", status: "working" } }
    )
  })
})
