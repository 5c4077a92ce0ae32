/** Measurement helpers shared by the bench sections: plain async code, no Effect. */

export interface Result {
  readonly perSecond: number
  readonly p50: number
  readonly p99: number
}

export const percentile = (sorted: ArrayLike<number>, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0

/** Runs `call` `warmup` times, then `calls` times with `concurrency` in flight; wall time and per-call latency. */
export const measure = async (
  call: () => Promise<unknown>,
  options: { readonly calls: number; readonly warmup: number; readonly concurrency: number }
): Promise<Result> => {
  for (let i = 0; i < options.warmup; i++) await call()
  const latencies: Array<number> = []
  let next = 0
  const started = performance.now()
  const worker = async () => {
    while (next < options.calls) {
      next++
      const t0 = performance.now()
      await call()
      latencies.push(performance.now() - t0)
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  const elapsed = performance.now() - started
  latencies.sort((a, b) => a - b)
  return { perSecond: (options.calls / elapsed) * 1000, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }
}

/** The median result by throughput (its latencies come with it: one real round, not a mix). */
export const median = <A extends { readonly perSecond: number }>(results: ReadonlyArray<A>): A => {
  const sorted = [...results].sort((a, b) => a.perSecond - b.perSecond)
  const middle = sorted[Math.floor(sorted.length / 2)]
  if (middle === undefined) throw new Error("median of no results")
  return middle
}

export const ratio = (value: number, baseline: number) => `${(value / baseline).toFixed(2)}x`

/** One printed row: `label  N req/s  p50 … ms  p99 … ms  (notes)`. */
export const row = (label: string, result: Result, unit = "req/s", notes: ReadonlyArray<string> = []) =>
  `${label.padEnd(52)} ${result.perSecond.toFixed(0).padStart(7)} ${unit}  p50 ${result.p50.toFixed(2)} ms  p99 ${
    result.p99.toFixed(2)
  } ms${notes.length === 0 ? "" : `  (${notes.join("; ")})`}`

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** `promise`, or `fallback` after `ms`; the timer is cleared either way (a pending timer would hold the exit). */
export const within = <A, B>(promise: Promise<A>, ms: number, fallback: B): Promise<A | B> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<B>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
