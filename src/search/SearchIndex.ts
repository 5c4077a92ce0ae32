import * as Namespacing from "../protocol/Namespacing.ts"
import * as Tokenizer from "./Tokenizer.ts"

/** A tool as a backend lists it (the fields search reads). */
export interface Tool {
  readonly name: string
  readonly title?: string | undefined
  readonly description?: string | undefined
  readonly inputSchema?: {
    readonly properties?: Readonly<Record<string, { readonly type?: unknown; readonly description?: unknown }>> | undefined
    readonly required?: ReadonlyArray<string> | undefined
  } | undefined
}

/** One hit: the namespaced name, its server, its description, its score, and a compact view of its input. */
export interface Hit {
  readonly name: string
  readonly serverId: string
  readonly description: string
  readonly score: number
  /** `param: type` per parameter, `?` marking the optional ones. */
  readonly parameters: ReadonlyArray<string>
}

interface Doc {
  readonly serverId: string
  readonly tool: Tool
  readonly length: number
  readonly termFrequencies: ReadonlyMap<string, number>
}

// Where a word appears says how much it tells: a tool's name most, then its title, its description, and last
// the names and descriptions of its parameters.
const fieldWeights = { name: 3, title: 2, description: 1, parameter: 0.5 } as const

// BM25 parameters (the usual values).
const k1 = 1.2
const b = 0.75

const weigh = (frequencies: Map<string, number>, text: string | undefined, weight: number) => {
  if (text === undefined) return
  for (const term of Tokenizer.terms(text)) frequencies.set(term, (frequencies.get(term) ?? 0) + weight)
}

const compactParameters = (tool: Tool): ReadonlyArray<string> => {
  const required = new Set(tool.inputSchema?.required ?? [])
  return Object.entries(tool.inputSchema?.properties ?? {}).map(([name, property]) =>
    `${name}${required.has(name) ? "" : "?"}: ${typeof property.type === "string" ? property.type : "any"}`
  )
}

/**
 * BM25 ranking of the fleet's tools, kept per server: a backend whose tools changed is indexed again on its own
 * (`setServer`) without rebuilding the rest, and one that goes away is dropped (`removeServer`). Owned by one
 * actor (its methods are synchronous); reads see a consistent index between calls.
 */
export class SearchIndex {
  readonly #docs = new Map<string, Doc>()
  readonly #byServer = new Map<string, Array<string>>()
  readonly #postings = new Map<string, Set<string>>()
  #totalLength = 0

  get size(): number {
    return this.#docs.size
  }

  /**
   * Replaces everything indexed for `serverId` with `tools`. `exposedName` gives the name a client calls a tool
   * by (by default `<server>__<name>`; the gateway passes its 64-character bounded names); a tool it gives no
   * name is left out. Words are taken from the backend's own name, not the exposed one (which may end in a hash).
   */
  setServer(
    serverId: string,
    tools: ReadonlyArray<Tool>,
    exposedName: (name: string) => string | undefined = (name) => Namespacing.join(serverId, name)
  ): void {
    this.removeServer(serverId)
    const ids: Array<string> = []
    for (const tool of tools) {
      const id = exposedName(tool.name)
      if (id === undefined) continue
      const frequencies = new Map<string, number>()
      weigh(frequencies, tool.name, fieldWeights.name)
      weigh(frequencies, tool.title, fieldWeights.title)
      weigh(frequencies, tool.description, fieldWeights.description)
      for (const [name, property] of Object.entries(tool.inputSchema?.properties ?? {})) {
        weigh(frequencies, name, fieldWeights.parameter)
        weigh(frequencies, typeof property.description === "string" ? property.description : undefined, fieldWeights.parameter)
      }
      let length = 0
      for (const [term, frequency] of frequencies) {
        length += frequency
        let posting = this.#postings.get(term)
        if (posting === undefined) this.#postings.set(term, posting = new Set())
        posting.add(id)
      }
      this.#docs.set(id, { serverId, tool, length, termFrequencies: frequencies })
      this.#totalLength += length
      ids.push(id)
    }
    this.#byServer.set(serverId, ids)
  }

  /** Drops a server's tools (it went away, or is about to be indexed again). */
  removeServer(serverId: string): void {
    for (const id of this.#byServer.get(serverId) ?? []) {
      const doc = this.#docs.get(id)
      if (doc === undefined) continue
      for (const term of doc.termFrequencies.keys()) {
        const posting = this.#postings.get(term)
        posting?.delete(id)
        if (posting?.size === 0) this.#postings.delete(term)
      }
      this.#totalLength -= doc.length
      this.#docs.delete(id)
    }
    this.#byServer.delete(serverId)
  }

  /** The best `limit` tools for `query` among `servers` (all when undefined), best first. */
  search(query: string, options: { readonly limit?: number; readonly servers?: ReadonlySet<string> } = {}): ReadonlyArray<Hit> {
    const limit = options.limit ?? 10
    const n = this.#docs.size
    if (n === 0 || limit <= 0) return []
    const averageLength = this.#totalLength / n
    const scores = new Map<string, number>()
    for (const term of new Set(Tokenizer.terms(query))) {
      const posting = this.#postings.get(term)
      if (posting === undefined) continue
      const idf = Math.log(1 + (n - posting.size + 0.5) / (posting.size + 0.5))
      for (const id of posting) {
        const doc = this.#docs.get(id)
        if (doc === undefined || (options.servers !== undefined && !options.servers.has(doc.serverId))) continue
        const tf = doc.termFrequencies.get(term) ?? 0
        const score = idf * (tf * (k1 + 1)) / (tf + k1 * (1 - b + b * doc.length / averageLength))
        scores.set(id, (scores.get(id) ?? 0) + score)
      }
    }
    // Top `limit` without sorting every match: a small sorted window is enough.
    const top: Array<[string, number]> = []
    for (const entry of scores) {
      if (top.length === limit && entry[1] <= (top[limit - 1]?.[1] ?? 0)) continue
      let at = top.length
      while (at > 0 && (top[at - 1]?.[1] ?? 0) < entry[1]) at--
      top.splice(at, 0, entry)
      if (top.length > limit) top.pop()
    }
    return top.flatMap(([id, score]) => {
      const doc = this.#docs.get(id)
      return doc === undefined ? [] : [{
        name: id,
        serverId: doc.serverId,
        description: doc.tool.description ?? doc.tool.title ?? "",
        score,
        parameters: compactParameters(doc.tool)
      }]
    })
  }
}
