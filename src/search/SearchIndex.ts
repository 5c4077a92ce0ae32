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

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * What the index reads of a backend's tool definition, whatever the backend sent: the fields of the types it
 * expects, and nothing else (a `description: null`, a `required: true` or a `null` property is left out, not
 * indexed as if it were text and not a reason to lose the server's other tools).
 */
export const searchable = (definition: Readonly<Record<string, unknown>>, name: string): Tool => {
  const { title, description, inputSchema } = definition
  const schema = isRecord(inputSchema) ? inputSchema : {}
  const properties = isRecord(schema["properties"]) ? schema["properties"] : {}
  const required = Array.isArray(schema["required"]) ? schema["required"].filter((key) => typeof key === "string") : []
  return {
    name,
    ...(typeof title === "string" ? { title } : {}),
    ...(typeof description === "string" ? { description } : {}),
    inputSchema: {
      properties: Object.fromEntries(
        Object.entries(properties).map(([key, property]) => [key, isRecord(property) ? property : {}])
      ),
      required
    }
  }
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
  /** the exposed name */
  readonly name: string
  readonly serverId: string
  readonly tool: Tool
  /** its distinct terms, to take it out of their postings again */
  readonly terms: ReadonlyArray<string>
  /** when it was indexed: of two tools with the same score, the earlier ranks first */
  readonly sequence: number
}

/**
 * The documents a term occurs in, as parallel arrays of slots and weighted term frequencies: a query walks
 * them as plain numbers, without hashing a name per document or allocating.
 */
interface Posting {
  readonly slots: Array<number>
  readonly frequencies: Array<number>
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
 *
 * Documents live in numbered slots (a removed server's slots are reused), so that scoring a query is arithmetic
 * over arrays: a query over 10,000 tools touches thousands of postings, and a string-keyed map per posting and a
 * fresh score map per query made it slow and left garbage whose collection showed in the tail latency.
 */
export class SearchIndex {
  readonly #docs: Array<Doc | undefined> = []
  /** per slot, the document's length (the sum of its weighted term frequencies) */
  readonly #lengths: Array<number> = []
  readonly #freeSlots: Array<number> = []
  readonly #byServer = new Map<string, ReadonlyArray<number>>()
  readonly #postings = new Map<string, Posting>()
  #size = 0
  #totalLength = 0
  #sequence = 0
  // Scratch space of `search`, reused across queries: the running score per slot (0 = not matched yet) and the
  // slots matched so far. Scores are reset after each query, so they are all 0 between calls.
  #scores = new Float64Array(0)
  #matched = new Int32Array(0)

  get size(): number {
    return this.#size
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
    // One document per exposed name: a later tool under the same name replaces an earlier one.
    const byName = new Map<string, Tool>()
    for (const tool of tools) {
      const name = exposedName(tool.name)
      if (name !== undefined) byName.set(name, tool)
    }
    // Recorded before the documents are added: should one of them throw, those added so far are still removable.
    const slots: Array<number> = []
    this.#byServer.set(serverId, slots)
    for (const [name, tool] of byName) {
      const frequencies = new Map<string, number>()
      weigh(frequencies, tool.name, fieldWeights.name)
      weigh(frequencies, tool.title, fieldWeights.title)
      weigh(frequencies, tool.description, fieldWeights.description)
      for (const [parameter, property] of Object.entries(tool.inputSchema?.properties ?? {})) {
        weigh(frequencies, parameter, fieldWeights.parameter)
        weigh(frequencies, typeof property.description === "string" ? property.description : undefined, fieldWeights.parameter)
      }
      const slot = this.#freeSlots.pop() ?? this.#docs.length
      let length = 0
      for (const [term, frequency] of frequencies) {
        length += frequency
        let posting = this.#postings.get(term)
        if (posting === undefined) this.#postings.set(term, posting = { slots: [], frequencies: [] })
        posting.slots.push(slot)
        posting.frequencies.push(frequency)
      }
      this.#docs[slot] = { name, serverId, tool, terms: [...frequencies.keys()], sequence: this.#sequence++ }
      this.#lengths[slot] = length
      this.#size++
      this.#totalLength += length
      slots.push(slot)
    }
  }

  /** Drops a server's tools (it went away, or is about to be indexed again). */
  removeServer(serverId: string): void {
    const slots = this.#byServer.get(serverId)
    if (slots === undefined) return
    this.#byServer.delete(serverId)
    const terms = new Set<string>()
    for (const slot of slots) {
      const doc = this.#docs[slot]
      if (doc === undefined) continue
      for (const term of doc.terms) terms.add(term)
      this.#docs[slot] = undefined
      this.#size--
      this.#totalLength -= this.#lengths[slot] ?? 0
    }
    // Each posting the server was in is compacted once, whatever the number of its tools in it.
    for (const term of terms) {
      const posting = this.#postings.get(term)
      if (posting === undefined) continue
      let kept = 0
      for (let i = 0; i < posting.slots.length; i++) {
        const slot = posting.slots[i] ?? 0
        if (this.#docs[slot] === undefined) continue
        posting.slots[kept] = slot
        posting.frequencies[kept] = posting.frequencies[i] ?? 0
        kept++
      }
      if (kept === 0) this.#postings.delete(term)
      else {
        posting.slots.length = kept
        posting.frequencies.length = kept
      }
    }
    // Freed only now: while compacting, an empty slot had to mean "removed".
    for (const slot of slots) this.#freeSlots.push(slot)
  }

  /** The best `limit` tools for `query` among `servers` (all when undefined), best first. */
  search(query: string, options: { readonly limit?: number; readonly servers?: ReadonlySet<string> } = {}): ReadonlyArray<Hit> {
    const limit = options.limit ?? 10
    const n = this.#size
    if (n === 0 || limit <= 0) return []
    if (this.#scores.length < this.#docs.length) {
      this.#scores = new Float64Array(this.#docs.length * 2)
      this.#matched = new Int32Array(this.#docs.length * 2)
    }
    const scores = this.#scores
    const matched = this.#matched
    const lengths = this.#lengths
    let matches = 0
    const averageLength = this.#totalLength / n
    for (const term of new Set(Tokenizer.terms(query))) {
      const posting = this.#postings.get(term)
      if (posting === undefined) continue
      const { slots, frequencies } = posting
      const idf = Math.log(1 + (n - slots.length + 0.5) / (slots.length + 0.5))
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[i] ?? 0
        const tf = frequencies[i] ?? 0
        const score = idf * (tf * (k1 + 1)) / (tf + k1 * (1 - b + b * (lengths[slot] ?? 0) / averageLength))
        // Every term's score is positive (idf > 0, tf > 0), so 0 means this slot was not matched yet.
        if (scores[slot] === 0) matched[matches++] = slot
        scores[slot] = (scores[slot] ?? 0) + score
      }
    }
    // The best `limit` in a small sorted window: most matches fall below its last score and cost one comparison.
    // The server filter is checked only for those that would enter it.
    const top: Array<Ranked> = []
    for (let i = 0; i < matches; i++) {
      const slot = matched[i] ?? 0
      const score = scores[slot] ?? 0
      scores[slot] = 0
      const last = top[limit - 1]
      if (last !== undefined && score < last.score) continue
      const doc = this.#docs[slot]
      if (doc === undefined || (options.servers !== undefined && !options.servers.has(doc.serverId))) continue
      const entry = { doc, score }
      if (last !== undefined && !ranksBefore(entry, last)) continue
      const at = top.findIndex((other) => ranksBefore(entry, other))
      top.splice(at === -1 ? top.length : at, 0, entry)
      if (top.length > limit) top.pop()
    }
    return top.map(({ doc, score }) => ({
      name: doc.name,
      serverId: doc.serverId,
      description: doc.tool.description ?? doc.tool.title ?? "",
      score,
      parameters: compactParameters(doc.tool)
    }))
  }
}

interface Ranked {
  readonly doc: Doc
  readonly score: number
}

/** A higher score first; on a tie, the tool indexed earlier, so that equal scores rank the same on every call. */
const ranksBefore = (a: Ranked, b: Ranked) =>
  a.score > b.score || (a.score === b.score && a.doc.sequence < b.doc.sequence)
