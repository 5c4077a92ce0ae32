import type { JSONRPCNotification, JSONRPCRequest, JSONRPCResponse } from "@modelcontextprotocol/client"
import * as Namespacing from "../protocol/Namespacing.ts"

/** The task methods a client calls with a `taskId` (MCP 2025-11-25 tasks). */
const taskMethods = new Set(["tasks/get", "tasks/result", "tasks/cancel"])

/** Whether a method is about tasks (those with a `taskId`, and `tasks/list`). */
export const isTaskMethod = (method: string) => taskMethods.has(method) || method === "tasks/list"

/** How many status notifications a session holds for tasks it is still waiting to learn the ids of. */
const maxEarly = 100

const rewriteTaskIds = (value: Record<string, unknown>, taskId: string): Record<string, unknown> => {
  const task = value["task"]
  return {
    ...value,
    ...(typeof value["taskId"] === "string" ? { taskId } : {}),
    ...(typeof task === "object" && task !== null ? { task: { ...task, taskId } } : {})
  }
}

/**
 * The tasks of one session. A backend mints task ids; the session shows them to its client namespaced
 * (`server__taskId`), so `tasks/get`, `tasks/result` and `tasks/cancel` reach the right backend, and a task's
 * `notifications/tasks/status` reaches only the session whose request created it.
 *
 * A backend may announce a task's status before the result that names the task (server-everything does): while
 * the session has task-creating requests in flight, such statuses are held (a few) and delivered once the
 * result says the task is this session's; otherwise they are another session's and dropped. Synchronous,
 * owned by its session.
 */
export const make = () => {
  const owned = new Map<string, { readonly serverId: string; readonly taskId: string }>()
  const early: Array<{ readonly serverId: string; readonly notification: JSONRPCNotification }> = []
  let creating = 0

  return {
    /** Whether a request asks the backend to run it as a task. */
    isTaskRequest: (request: JSONRPCRequest) => typeof request.params?.["task"] === "object",
    creatingStarted: () => void creating++,
    /** A task-creating request ended: its answer, the task id namespaced, and the statuses held for it. */
    created: <R extends JSONRPCResponse | undefined>(serverId: string, response: R) => {
      creating = Math.max(0, creating - 1)
      const task = response !== undefined && "result" in response ? response.result["task"] : undefined
      const taskId = typeof task === "object" && task !== null ? (task as Record<string, unknown>)["taskId"] : undefined
      if (typeof taskId !== "string") {
        if (creating === 0) early.length = 0
        return { response, statuses: [] as ReadonlyArray<JSONRPCNotification> }
      }
      const namespaced = Namespacing.join(serverId, taskId)
      owned.set(namespaced, { serverId, taskId })
      const statuses: Array<JSONRPCNotification> = []
      for (let i = early.length - 1; i >= 0; i--) {
        const held = early[i]
        if (held?.serverId === serverId && held.notification.params?.["taskId"] === taskId) {
          statuses.unshift({ ...held.notification, params: { ...held.notification.params, taskId: namespaced } })
          early.splice(i, 1)
        }
      }
      if (creating === 0) early.length = 0
      const answer = response !== undefined && "result" in response
        ? { ...response, result: rewriteTaskIds(response.result, namespaced) }
        : response
      return { response: answer as R, statuses }
    },
    /** A backend's task status: for the client (namespaced), held until its task is known, or not ours. */
    status: (serverId: string, notification: JSONRPCNotification): JSONRPCNotification | undefined => {
      const taskId = notification.params?.["taskId"]
      if (typeof taskId !== "string") return undefined
      const namespaced = Namespacing.join(serverId, taskId)
      if (owned.has(namespaced)) return { ...notification, params: { ...notification.params, taskId: namespaced } }
      if (creating > 0 && early.length < maxEarly) early.push({ serverId, notification })
      return undefined
    },
    /**
     * A client's `tasks/get|result|cancel`: the backend and the request with the backend's task id, or the
     * server the id names (a task that is not this session's: Forbidden for the caller), or undefined.
     */
    route: (request: JSONRPCRequest) => {
      const namespaced = request.params?.["taskId"]
      if (!taskMethods.has(request.method) || typeof namespaced !== "string") return undefined
      const task = owned.get(namespaced)
      if (task === undefined) return { _tag: "NotOwned" as const, serverId: Namespacing.split(namespaced)?.serverId ?? namespaced }
      return {
        _tag: "Owned" as const,
        serverId: task.serverId,
        namespaced,
        message: { ...request, params: { ...request.params, taskId: task.taskId } }
      }
    },
    /** The task as the client knows it, if it is this session's. */
    known: (serverId: string, taskId: string): string | undefined => {
      const namespaced = Namespacing.join(serverId, taskId)
      return owned.has(namespaced) ? namespaced : undefined
    },
    /** A `tasks/*` answer with the task id as the client knows it. */
    answer: (response: JSONRPCResponse, namespaced: string): JSONRPCResponse =>
      "result" in response ? { ...response, result: rewriteTaskIds(response.result, namespaced) } : response
  }
}

export type Tasks = ReturnType<typeof make>
