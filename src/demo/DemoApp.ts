/**
 * The demo page's script (bundled by DemoBundle into `/demo/app.js`): plain DOM code over the client library, as a
 * browser application would use it. It runs in the browser, not in the gateway, so it is written against the DOM
 * and the client's promises rather than Effect.
 */
import {
  GatewayClient,
  type GatewayEvent,
  GatewaySession,
  type JsonRpcRequest,
  type ServerSummary
} from "../client/index.ts"

// =============================================================================
// Elements
// =============================================================================

const element = <T extends HTMLElement>(id: string, type: new() => T): T => {
  const found = document.getElementById(id)
  if (!(found instanceof type)) throw new Error(`the page has no ${type.name} #${id}`)
  return found
}

const ui = {
  status: element("status", HTMLElement),
  token: element("token", HTMLInputElement),
  connect: element("connect", HTMLButtonElement),
  serversText: element("servers-text", HTMLLabelElement),
  serversInput: element("servers-input", HTMLInputElement),
  serverChoices: element("server-choices", HTMLDivElement),
  createSession: element("create-session", HTMLButtonElement),
  close: element("close", HTMLButtonElement),
  sessionInfo: element("session-info", HTMLParagraphElement),
  method: element("method", HTMLInputElement),
  params: element("params", HTMLTextAreaElement),
  send: element("send", HTMLButtonElement),
  requestProblem: element("request-problem", HTMLParagraphElement),
  presetList: element("preset-list", HTMLButtonElement),
  tool: element("tool", HTMLInputElement),
  toolArgs: element("tool-args", HTMLInputElement),
  presetEcho: element("preset-echo", HTMLButtonElement),
  tools: element("tools", HTMLDataListElement),
  asks: element("asks", HTMLDivElement),
  asksEmpty: element("asks-empty", HTMLParagraphElement),
  statRate: element("stat-rate", HTMLElement),
  statEvents: element("stat-events", HTMLElement),
  statInFlight: element("stat-inflight", HTMLElement),
  statLast: element("stat-last", HTMLElement),
  statAverage: element("stat-avg", HTMLElement),
  log: element("log", HTMLOListElement),
  clearLog: element("clear-log", HTMLButtonElement)
}

const make = <K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string) => {
  const created = document.createElement(tag)
  if (className !== undefined) created.className = className
  if (text !== undefined) created.textContent = text
  return created
}

// =============================================================================
// State
// =============================================================================

let client: GatewayClient | undefined
let session: GatewaySession | undefined
/** Every server a session has reported; after the first session they are offered as checkboxes. */
const knownServers = new Map<string, boolean>()

interface Stats {
  events: number
  eventsAtLastTick: number
  inFlight: number
  answered: number
  totalMs: number
  lastMs: number | undefined
}
const stats: Stats = { events: 0, eventsAtLastTick: 0, inFlight: 0, answered: 0, totalMs: 0, lastMs: undefined }

// =============================================================================
// Log
// =============================================================================

/** Entries kept: the oldest go first, so a long session does not grow the page without bound. */
const maxLogEntries = 500
/** Characters of one entry's data shown; the rest is cut (a large tools/list stays readable). */
const maxDataChars = 20_000

const clock = () => {
  const now = new Date()
  return `${now.toTimeString().slice(0, 8)}.${String(now.getMilliseconds()).padStart(3, "0")}`
}

const formatData = (data: unknown): string => {
  const text = typeof data === "string" ? data : JSON.stringify(data)
  return text.length <= maxDataChars ? text : `${text.slice(0, maxDataChars)}… (${text.length - maxDataChars} more)`
}

const append = (className: string, name: string, id: string, data: unknown) => {
  // Follow the newest entry only when the reader is already at the bottom: scrolling up to read stays put.
  const atBottom = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 24
  const entry = make("li", className)
  entry.append(
    make("span", "time", clock()),
    make("span", "name", name),
    make("span", "id", id),
    make("span", "data", formatData(data))
  )
  ui.log.append(entry)
  while (ui.log.childElementCount > maxLogEntries) ui.log.firstElementChild?.remove()
  if (atBottom) ui.log.scrollTop = ui.log.scrollHeight
}

/** A stream event, as it arrived: name, id, data. */
const logEvent = (event: GatewayEvent) => {
  stats.events++
  append(`ev ev-${event.type}`, event.type, `#${event.id}`, event.detail)
}

/** Something the page did or saw that is not a stream event. */
const note = (name: string, data: unknown, failed = false) =>
  append(failed ? "local local-error" : "local", name, "", data)

const describe = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error)
  const code = "code" in error ? ` (${String(error.code)})` : ""
  return `${error.name}${code}: ${error.message}`
}

// =============================================================================
// Statistics
// =============================================================================

const formatMs = (ms: number | undefined) => ms === undefined ? "–" : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`

const renderStats = () => {
  ui.statEvents.textContent = String(stats.events)
  ui.statInFlight.textContent = String(stats.inFlight)
  ui.statLast.textContent = formatMs(stats.lastMs)
  ui.statAverage.textContent = formatMs(stats.answered === 0 ? undefined : stats.totalMs / stats.answered)
}

setInterval(() => {
  ui.statRate.textContent = String(stats.events - stats.eventsAtLastTick)
  stats.eventsAtLastTick = stats.events
  renderStats()
}, 1000)

/** Runs one request of the session, counting it in flight and timing its round trip (POST to settling event). */
const timed = async <A>(label: string, run: () => Promise<A>): Promise<A | undefined> => {
  stats.inFlight++
  renderStats()
  const started = performance.now()
  try {
    const result = await run()
    const ms = performance.now() - started
    stats.lastMs = ms
    stats.totalMs += ms
    stats.answered++
    note(`← ${label}`, `answered in ${formatMs(ms)}`)
    return result
  } catch (error) {
    note(`← ${label}`, describe(error), true)
    return undefined
  } finally {
    stats.inFlight--
    renderStats()
  }
}

// =============================================================================
// Session
// =============================================================================

/** A session is being created: nothing may start another until it is done (it would be orphaned). */
let creating = false

const setOpen = (open: boolean) => {
  for (const button of [ui.send, ui.presetList, ui.presetEcho, ui.close]) button.disabled = !open
  ui.createSession.disabled = open || creating || client === undefined
  ui.status.textContent = open ? "session open" : client === undefined ? "not connected" : "connected"
  ui.status.classList.toggle("live", open)
}

const renderServerChoices = () => {
  if (knownServers.size === 0) return
  ui.serversText.hidden = true
  ui.serverChoices.hidden = false
  ui.serverChoices.replaceChildren(...[...knownServers].map(([id, checked]) => {
    const box = make("input")
    box.type = "checkbox"
    box.name = "server"
    box.value = id
    box.checked = checked
    box.addEventListener("change", () => knownServers.set(id, box.checked))
    const label = make("label")
    label.append(box, id)
    return label
  }))
}

const chosenServers = (): ReadonlyArray<string> | undefined => {
  if (knownServers.size > 0) return [...knownServers].filter(([, checked]) => checked).map(([id]) => id)
  const listed = ui.serversInput.value.split(",").map((id) => id.trim()).filter((id) => id !== "")
  // Nothing listed: the session gets every server the client may use.
  return listed.length === 0 ? undefined : listed
}

const renderSessionInfo = (opened: GatewaySession) => {
  const describeServer = (server: ServerSummary) => {
    const item = make("span", server.status === "failed" ? "server-failed" : undefined)
    item.textContent = server.status === "failed" ? `${server.id} (failed: ${server.error ?? "?"})` : server.id
    return item
  }
  ui.sessionInfo.replaceChildren(`Session ${opened.id}: `)
  opened.servers.forEach((server, index) => {
    if (index > 0) ui.sessionInfo.append(", ")
    ui.sessionInfo.append(describeServer(server))
  })
}

const ended = (reason: string) => {
  session = undefined
  ui.sessionInfo.textContent = `No session (the last one ended: ${reason}).`
  ui.asks.replaceChildren()
  ui.asksEmpty.hidden = false
  setOpen(false)
}

const eventNames = ["response", "chunk", "notification", "error", "request", "heartbeat", "closed"] as const

const watch = (opened: GatewaySession) => {
  for (const name of eventNames) opened.addEventListener(name, logEvent)
  opened.addEventListener("request", (event) => ask(opened, event.detail.server_id, event.detail.request))
  opened.addEventListener("closed", (event) => {
    if (session === opened) ended(event.detail.reason)
  })
  opened.addEventListener("reconnecting", (event) =>
    note("reconnecting", {
      attempt: event.detail.attempt,
      delayMs: event.detail.delayMs,
      cause: describe(event.detail.cause)
    }))
  opened.addEventListener("stream-error", (event) => {
    note("stream-error", { error: describe(event.detail.error), willReconnect: event.detail.willReconnect }, true)
    if (!event.detail.willReconnect && session === opened) ended("stream failed")
  })
}

ui.connect.addEventListener("click", () => {
  const token = ui.token.value.trim()
  client = new GatewayClient(location.origin, token === "" ? {} : { token })
  note("connect", token === "" ? "anonymous client" : "token set; the gateway checks it when a session is created")
  setOpen(session !== undefined)
})

ui.createSession.addEventListener("click", async () => {
  if (client === undefined || session !== undefined || creating) return
  creating = true
  ui.createSession.disabled = true
  const servers = chosenServers()
  note("create session", servers === undefined ? "every server the client may use" : { servers })
  try {
    const opened = await client.createSession(servers === undefined ? {} : { servers })
    session = opened
    watch(opened)
    for (const server of opened.servers) if (!knownServers.has(server.id)) knownServers.set(server.id, true)
    renderServerChoices()
    renderSessionInfo(opened)
    setOpen(true)
  } catch (error) {
    note("create session", describe(error), true)
    setOpen(false)
  } finally {
    creating = false
    setOpen(session !== undefined)
  }
})

ui.close.addEventListener("click", async () => {
  const closing = session
  if (closing === undefined) return
  ui.close.disabled = true
  try {
    await closing.close()
  } catch (error) {
    note("close", describe(error), true)
  }
  if (session === closing) ended("closed by this page")
})

ui.clearLog.addEventListener("click", () => ui.log.replaceChildren())

// =============================================================================
// Requests
// =============================================================================

const parseObject = (text: string, what: string): Record<string, unknown> => {
  const parsed: unknown = text.trim() === "" ? {} : JSON.parse(text)
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${what} must be a JSON object`)
  }
  return Object.fromEntries(Object.entries(parsed))
}

const showProblem = (problem: string | undefined) => {
  ui.requestProblem.hidden = problem === undefined
  ui.requestProblem.textContent = problem ?? ""
}

/**
 * Reads a form's JSON and runs the request, or shows what is wrong with the input. The log shows `method` with
 * the params sent (`shown`, from the input).
 */
const submit = (
  method: string,
  read: () => Record<string, unknown>,
  shown: (input: Record<string, unknown>) => unknown,
  run: (s: GatewaySession, input: Record<string, unknown>) => Promise<unknown>
) => {
  const current = session
  if (current === undefined) return
  let input: Record<string, unknown>
  try {
    input = read()
  } catch (error) {
    showProblem(error instanceof Error ? error.message : String(error))
    return
  }
  showProblem(undefined)
  note(`→ ${method}`, shown(input))
  void timed(method, () => run(current, input))
}

ui.send.addEventListener("click", () => {
  const method = ui.method.value.trim()
  if (method === "") return showProblem("a method is required")
  submit(
    method,
    () => parseObject(ui.params.value, "params"),
    (params) => params,
    (s, params) => s.request(method, params)
  )
})

ui.presetList.addEventListener("click", () =>
  submit("tools/list", () => ({}), () => "broadcast to every server of the session", async (s) => {
    const listed = await s.listTools()
    // Offer the tools just listed in the tool box.
    ui.tools.replaceChildren(...listed.tools.map((tool) => {
      const option = make("option")
      option.value = tool.name
      return option
    }))
    return listed
  }))

ui.presetEcho.addEventListener("click", () => {
  const name = ui.tool.value.trim()
  if (name === "") return showProblem("a tool name is required")
  submit(
    "tools/call",
    () => parseObject(ui.toolArgs.value, "arguments"),
    (args) => ({ name, arguments: args }),
    (s, args) => s.callTool(name, args)
  )
})

// =============================================================================
// A backend asks the client (sampling, elicitation, roots)
// =============================================================================

/** What the answer box starts with: a result of the right shape to edit. */
const template = (request: JsonRpcRequest): string => {
  switch (request.method) {
    case "sampling/createMessage":
      return ""
    case "elicitation/create": {
      const schema = request.params?.["requestedSchema"]
      const properties = typeof schema === "object" && schema !== null && "properties" in schema &&
          typeof schema.properties === "object" && schema.properties !== null
        ? Object.keys(schema.properties)
        : []
      const content = Object.fromEntries(properties.map((key) => [key, ""]))
      return JSON.stringify({ action: "accept", content }, null, 2)
    }
    case "roots/list":
      return JSON.stringify({ roots: [] }, null, 2)
    default:
      return "{}"
  }
}

/** The answer box's text as a result: JSON as written, or plain text as a sampling reply. */
const answerOf = (request: JsonRpcRequest, text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch (error) {
    if (request.method !== "sampling/createMessage") throw error
    return { role: "assistant", content: { type: "text", text }, model: "gateway-demo", stopReason: "endTurn" }
  }
}

const declineOf = (request: JsonRpcRequest): unknown =>
  request.method === "elicitation/create"
    ? { action: "decline" }
    : { error: { code: -1, message: "declined in the gateway demo page" } }

const ask = (owner: GatewaySession, serverId: string, request: JsonRpcRequest) => {
  const card = make("div", "ask")
  card.dataset["requestId"] = String(request.id)
  const answer = make("textarea", "answer")
  answer.rows = 4
  answer.value = template(request)
  answer.placeholder = request.method === "sampling/createMessage"
    ? "the reply's text, or a JSON result"
    : "a JSON result"
  const respond = make("button", "respond primary", "Answer")
  const decline = make("button", "decline", "Decline")
  const problem = make("p", "problem")
  problem.hidden = true
  const row = make("div", "row")
  row.append(respond, decline)
  card.append(
    make("strong", undefined, `${serverId}: ${request.method}`),
    make("pre", undefined, JSON.stringify(request.params ?? {}, null, 2)),
    answer,
    row,
    problem
  )
  ui.asks.append(card)
  ui.asksEmpty.hidden = true

  const send = async (result: () => unknown) => {
    let value: unknown
    try {
      value = result()
    } catch (error) {
      problem.hidden = false
      problem.textContent = `not JSON: ${error instanceof Error ? error.message : String(error)}`
      return
    }
    respond.disabled = decline.disabled = true
    note(`→ answer ${request.method}`, value)
    try {
      await owner.respond(request.id, value)
      card.remove()
      ui.asksEmpty.hidden = ui.asks.childElementCount > 0
    } catch (error) {
      respond.disabled = decline.disabled = false
      problem.hidden = false
      problem.textContent = describe(error)
      note(`answer ${request.method}`, describe(error), true)
    }
  }
  respond.addEventListener("click", () => void send(() => answerOf(request, answer.value)))
  decline.addEventListener("click", () => void send(() => declineOf(request)))
}

setOpen(false)
renderStats()
note("ready", "enter the client's token, connect, and create a session")
