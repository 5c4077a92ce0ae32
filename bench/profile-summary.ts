/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): self time by function and by package/module, and
 * inclusive time for a few functions of interest. For the bench's gateway profiles:
 *   BENCH_GATEWAY_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" BENCH_ONLY=calls npm run bench
 *   npx node bench/profile-summary.ts /tmp/prof/*.cpuprofile [top=25]
 */
import { readFileSync } from "node:fs"

interface Node {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly hitCount?: number
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
  readonly startTime: number
  readonly endTime: number
}

const args = process.argv.slice(2)
const top = Number(args.find((a) => /^top=\d+$/.test(a))?.slice(4) ?? 25)
const files = args.filter((a) => !/^top=\d+$/.test(a))

/** Where a function lives: `effect/Stream`, `@modelcontextprotocol/server`, `src/session/Session.ts`, `node:internal/...`. */
const moduleOf = (url: string) => {
  if (url === "") return "(native/V8)"
  const nm = url.lastIndexOf("node_modules/")
  if (nm !== -1) {
    const rest = url.slice(nm + 13).split("/")
    const pkg = rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0] ?? "?"
    const file = rest.at(-1)?.replace(/\.(m?js|ts)$/, "") ?? ""
    return `${pkg} ${file}`
  }
  const src = url.indexOf("/src/")
  if (src !== -1) return url.slice(src + 1)
  return url.replace(/^file:\/\//, "")
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const idle = [...self].filter(([id]) => byId.get(id)?.callFrame.functionName === "(idle)").reduce((a, [, t]) => a + t, 0)
  const busy = total - idle

  const fnSelf = new Map<string, number>()
  const modSelf = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const fnInclusive = new Map<string, number>()
  for (const [id, t] of self) {
    const n = byId.get(id)
    if (n === undefined || n.callFrame.functionName === "(idle)") continue
    const { functionName, url, lineNumber } = n.callFrame
    const key = `${functionName || "(anonymous)"}  ${moduleOf(url)}:${lineNumber + 1}`
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + t)
    modSelf.set(moduleOf(url), (modSelf.get(moduleOf(url)) ?? 0) + t)
    // Inclusive time per module: once per sample per module on its stack.
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame
      const m = moduleOf(frame?.url ?? "")
      if (!seen.has(m)) {
        seen.add(m)
        inclusive.set(m, (inclusive.get(m) ?? 0) + t)
      }
      const f = `${frame?.functionName || "(anonymous)"}  ${m}:${(frame?.lineNumber ?? 0) + 1}`
      if (!seen.has(f)) {
        seen.add(f)
        fnInclusive.set(f, (fnInclusive.get(f) ?? 0) + t)
      }
    }
  }
  const pct = (t: number) => `${((t / busy) * 100).toFixed(1).padStart(5)} %`
  const ms = (t: number) => `${(t / 1000).toFixed(0).padStart(6)} ms`
  console.log(`${file}\n  wall ${ms(profile.endTime - profile.startTime)}, busy ${ms(busy)} (idle ${ms(idle)})`)
  console.log(`  top functions by self time (% of busy):`)
  for (const [key, t] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${pct(t)} ${ms(t)}  ${key}`)
  console.log(`  by module, self time:`)
  for (const [key, t] of [...modSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${pct(t)} ${ms(t)}  ${key}`)
  const pattern = process.env.PROFILE_GREP === undefined ? undefined : new RegExp(process.env.PROFILE_GREP)
  console.log(`  functions, inclusive${pattern === undefined ? "" : ` (matching ${pattern})`}:`)
  for (const [key, t] of [...fnInclusive].filter(([k]) => pattern === undefined || pattern.test(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`    ${pct(t)} ${ms(t)}  ${key}`)
  }
  // PROFILE_CALLERS=<regex>: the self time of matching functions, split by their callers (4 frames up).
  const callersOf = process.env.PROFILE_CALLERS === undefined ? undefined : new RegExp(process.env.PROFILE_CALLERS)
  if (callersOf !== undefined) {
    const chains = new Map<string, number>()
    for (const [id, t] of self) {
      const frame = byId.get(id)?.callFrame
      if (frame === undefined || !callersOf.test(frame.functionName)) continue
      const chain: Array<string> = []
      for (let at = parent.get(id); at !== undefined && chain.length < Number(process.env.PROFILE_DEPTH ?? 4); at = parent.get(at)) {
        const f = byId.get(at)?.callFrame
        chain.push(`${f?.functionName || "(anonymous)"} ${moduleOf(f?.url ?? "")}:${(f?.lineNumber ?? 0) + 1}`)
      }
      const key = `${frame.functionName} <- ${chain.join(" <- ")}`
      chains.set(key, (chains.get(key) ?? 0) + t)
    }
    console.log(`  callers of ${callersOf}:`)
    for (const [key, t] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${pct(t)} ${ms(t)}  ${key}`)
  }
  console.log(`  by module, inclusive (on the stack):`)
  for (const [key, t] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${pct(t)} ${ms(t)}  ${key}`)
}
