/**
 * Tool search (issue 7): relevance on a labelled set (recall@1, recall@5, MRR) over the catalogue in
 * test/fixtures/search (>= 1,000 realistic tools, the embedded servers' real ones among them), and speed over
 * 10,000 tools (the catalogue repeated under other server ids): search latency p50/p99, index build time,
 * index memory, and re-indexing one server of 500 tools. Printed, not asserted.
 *
 * Latency: search runs in a long-lived gateway, so a few untimed rounds warm the JIT first; then every labelled
 * query is timed `timedRounds` times (over 10,000 searches), and the percentiles are taken over all of them.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Console, Effect } from "effect"
import { SearchIndex } from "../../src/search/SearchIndex.ts"
import { catalogue } from "../../test/fixtures/search/catalogue.ts"
import { queries } from "../../test/fixtures/search/queries.ts"
import { percentile } from "../lib/Stats.ts"

const warmupRounds = 5
const timedRounds = 100

// The index heap is only meaningful after a full collection: without one, garbage from building (or collected
// from before) skews it either way. `npm run bench` runs without --expose-gc, so the bench takes `gc` itself.
const gc = (): void => {
  if (globalThis.gc === undefined) setFlagsFromString("--expose-gc")
  const collect: unknown = globalThis.gc ?? runInNewContext("gc")
  if (typeof collect === "function") collect()
}

/** `search` run over every labelled query: warm-up rounds first, then `timedRounds` timed rounds, sorted. */
const latencies = (search: (query: string) => unknown) => {
  for (let round = 0; round < warmupRounds; round++) for (const { query } of queries) search(query)
  const times = new Float64Array(timedRounds * queries.length)
  let at = 0
  for (let round = 0; round < timedRounds; round++) {
    for (const { query } of queries) {
      const t0 = performance.now()
      search(query)
      times[at++] = performance.now() - t0
    }
  }
  return times.sort()
}

const relevance = () => {
  const index = new SearchIndex()
  for (const server of catalogue) index.setServer(server.serverId, server.tools)
  let at1 = 0
  let at5 = 0
  let reciprocal = 0
  const misses: Array<string> = []
  for (const { query, expected } of queries) {
    const names = index.search(query, { limit: 10 }).map((hit) => hit.name)
    const rank = names.findIndex((name) => expected.includes(name))
    if (rank === 0) at1++
    if (rank >= 0 && rank < 5) at5++
    else misses.push(`"${query}" -> ${names.slice(0, 3).join(", ") || "nothing"}`)
    if (rank >= 0) reciprocal += 1 / (rank + 1)
  }
  return { tools: index.size, at1: at1 / queries.length, at5: at5 / queries.length, mrr: reciprocal / queries.length, misses }
}

const speed = () => {
  const copies = Math.ceil(10_000 / catalogue.reduce((n, server) => n + server.tools.length, 0))
  const servers = Array.from({ length: copies }, (_, copy) =>
    catalogue.map((server) => ({ serverId: `${server.serverId}_${copy}`, tools: server.tools }))).flat()
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  const buildStart = performance.now()
  const index = new SearchIndex()
  for (const server of servers) index.setServer(server.serverId, server.tools)
  const buildMs = performance.now() - buildStart
  gc()
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024
  const tools = index.size
  const all = latencies((query) => index.search(query, { limit: 10 }))
  // As a session searches: always through its allowed servers (here all of them, so every match passes).
  const allowed = new Set(servers.map((server) => server.serverId))
  const filtered = latencies((query) => index.search(query, { limit: 10, servers: allowed }))
  const fiveHundred = Array.from({ length: 500 }, (_, i) => {
    const tool = servers[i % servers.length]?.tools[i % 20]
    return { ...tool, name: `${tool?.name ?? "tool"}_${i}`, description: tool?.description ?? "" }
  })
  const reindexStart = performance.now()
  index.setServer("big_server", fiveHundred)
  const firstIndexMs = performance.now() - reindexStart
  const again = performance.now()
  index.setServer("big_server", fiveHundred)
  const reindexMs = performance.now() - again
  return {
    tools,
    searches: all.length,
    buildMs,
    heapMb,
    p50: percentile(all, 0.5),
    p99: percentile(all, 0.99),
    filteredP50: percentile(filtered, 0.5),
    filteredP99: percentile(filtered, 0.99),
    firstIndexMs,
    reindexMs
  }
}

export const run = Effect.gen(function*() {
  const r = relevance()
  yield* Console.log(`\nTool search: ${queries.length} labelled queries over ${r.tools} tools (test/fixtures/search)`)
  yield* Console.log(
    `  recall@1 ${r.at1.toFixed(2)}  recall@5 ${r.at5.toFixed(2)}  MRR ${r.mrr.toFixed(2)}  (aim: recall@5 >= 0.9: ${r.at5 >= 0.9 ? "met" : "MISSED"})`
  )
  for (const miss of r.misses.slice(0, 8)) yield* Console.log(`    not in the top 5: ${miss}`)
  const s = speed()
  const aim = s.p99 < 5 ? "met" : "MISSED"
  yield* Console.log(
    `  over ${s.tools} tools (${s.searches} timed searches after ${warmupRounds} warm-up rounds): ` +
      `search p50 ${s.p50.toFixed(3)} ms  p99 ${s.p99.toFixed(3)} ms  (aim: p99 < 5 ms: ${aim})`
  )
  yield* Console.log(
    `  with a servers filter (as a session searches): p50 ${s.filteredP50.toFixed(3)} ms  p99 ${s.filteredP99.toFixed(3)} ms`
  )
  yield* Console.log(
    `  index build ${s.buildMs.toFixed(0)} ms, index heap ${s.heapMb.toFixed(1)} MB; one server of 500 tools: ` +
      `indexed in ${s.firstIndexMs.toFixed(1)} ms, re-indexed in ${s.reindexMs.toFixed(1)} ms`
  )
})
