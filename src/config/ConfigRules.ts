import { createHash } from "node:crypto"
import { Predicate } from "effect"
import * as Namespacing from "../protocol/Namespacing.ts"
import { type ConfigProblem, formatPath } from "./ConfigErrors.ts"

// Rules that span fields or entries of the config. They read the raw JSON (after `${VAR}` expansion) rather
// than the decoded value: a Schema check on a struct runs only when all of the struct decodes, so a rule
// written as a check would stay silent whenever some unrelated field elsewhere is wrong. Each rule looks only
// at the parts it needs and skips anything the wrong shape for it, which the schema reports on its own.

const allowedCharacters = /^[a-zA-Z0-9_-]+$/

const authMethods = ["token", "tokenSha256", "anonymous"] as const

export const check = (json: unknown): ReadonlyArray<ConfigProblem> => {
  if (!Predicate.isObject(json)) return []
  const problems: Array<ConfigProblem> = []
  const problem = (path: ReadonlyArray<PropertyKey>, message: string) =>
    problems.push({ path: formatPath(path), message })

  const servers = Predicate.isObject(json.mcpServers) ? json.mcpServers : undefined
  for (const id of Object.keys(servers ?? {})) {
    // `<server>__<name>` must split back into the same server (protocol/Namespacing.ts says why each rule).
    if (!allowedCharacters.test(id)) {
      problem(["mcpServers", id], `server id must contain only letters, digits, "_" and "-"`)
    } else if (id.includes("__")) {
      problem(["mcpServers", id], `server id must not contain "__" (it separates server and tool names)`)
    } else if (!Namespacing.isServerId(id)) {
      problem(["mcpServers", id], `server id must not end in "_" ("${id}__tool" would not split back into "${id}")`)
    } else if (id === Namespacing.GatewayServerId) {
      problem(["mcpServers", id], `"${id}" is reserved: the gateway's own tools are named "${id}__..."`)
    } else if (id.length > Namespacing.MaxToolNameLength - 11) {
      problem(["mcpServers", id], `server id must be at most ${Namespacing.MaxToolNameLength - 11} characters`)
    }
  }

  const clients = Predicate.isObject(json.clients) ? Object.entries(json.clients) : []
  const anonymous: Array<string> = []
  /** Each credential's SHA-256 (a plain token's, or the digest given) and the client it is: no two may share one. */
  const credentials = new Map<string, string>()
  for (const [id, client] of clients) {
    if (!Predicate.isObject(client)) continue
    // A present key counts even if its value is malformed: the schema reports the value, this the combination.
    const given = authMethods.filter((key) =>
      key === "anonymous" ? client.anonymous === true : client[key] !== undefined
    )
    if (given.length !== 1) {
      const found = given.length === 0 ? "none is given" : `${given.join(" and ")} are given`
      problem(["clients", id], `needs exactly one of "token", "tokenSha256" or "anonymous": true (${found})`)
    }
    if (client.anonymous === true) anonymous.push(id)
    // Two clients with one token: authentication would give both the first one's identity and servers.
    const digest = typeof client.token === "string"
      ? createHash("sha256").update(client.token).digest("hex")
      : typeof client.tokenSha256 === "string"
      ? client.tokenSha256.toLowerCase()
      : undefined
    if (digest !== undefined) {
      const holder = credentials.get(digest)
      if (holder !== undefined) {
        problem(["clients", id], `has the same token as client "${holder}": each client needs a token of its own`)
      } else credentials.set(digest, id)
    }

    const allowed = client.servers
    if (client.namespacing === "off" && !(Array.isArray(allowed) && allowed.length === 1)) {
      problem(
        ["clients", id, "namespacing"],
        `"off" is only allowed for a client whose "servers" lists exactly one server`
      )
    }
    if (client.namespacing === "off" && client.deferredLoading === true) {
      problem(
        ["clients", id, "deferredLoading"],
        `needs namespacing "on": the gateway's own tools (gateway__search_tools, ...) are namespaced`
      )
    }
    if (servers !== undefined && Array.isArray(allowed)) {
      allowed.forEach((server: unknown, index) => {
        if (typeof server === "string" && !Object.hasOwn(servers, server)) {
          problem(["clients", id, "servers", index], `unknown server "${server}" (not in mcpServers)`)
        }
      })
    }
  }
  const [first, ...others] = anonymous
  for (const id of others) {
    problem(["clients", id, "anonymous"], `only one client may be anonymous, and "${first}" already is`)
  }
  return problems
}
