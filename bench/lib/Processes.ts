/**
 * Services the bench runs as processes of their own (the gateway, the bare Effect server, the raw SSE
 * writer). Their stdout and stderr go to a log file, never to a pipe the bench reads: a logging service
 * must not be slowed by the bench draining a pipe, nor stall when one fills up. Every process started here is
 * stopped by `stop`, and SIGKILLed when the bench exits whatever way it exits.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { closeSync, openSync, readFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { Effect } from "effect"
import { sleep } from "./Stats.ts"

export interface Service {
  readonly name: string
  readonly pid: number
  /** The first match of the `ready` pattern in the service's output. */
  readonly ready: RegExpMatchArray
  readonly logFile: string
  readonly log: () => string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (or the signal's name). */
  readonly stop: (graceMs?: number) => Promise<string>
}

const live = new Set<ChildProcess>()
process.once("exit", () => {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
})

export const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** VmRSS of a process in KB (Linux). */
export const rssKb = (pid: number): number => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status)
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(match[1])
}

export const start = async (options: {
  readonly name: string
  /** Arguments to the bench's own node (Node 24): flags, then the script and its arguments. */
  readonly args: ReadonlyArray<string>
  readonly env?: Readonly<Record<string, string>>
  readonly cwd?: string
  readonly ready: RegExp
  readonly logFile: string
  readonly timeoutMs?: number
}): Promise<Service> => {
  const fd = openSync(options.logFile, "w")
  const child = spawn(process.execPath, [...options.args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", fd, fd]
  })
  closeSync(fd)
  live.add(child)
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => {
      live.delete(child)
      resolve(code === null ? String(signal) : String(code))
    })
  })
  const log = () => readFileSync(options.logFile, "utf8")
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return exited
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  let done = false
  void exited.then(() => void (done = true))
  const deadline = performance.now() + (options.timeoutMs ?? 30_000)
  for (;;) {
    const match = options.ready.exec(log())
    if (match !== null) {
      if (child.pid === undefined) throw new Error(`${options.name}: no pid`)
      return { name: options.name, pid: child.pid, ready: match, logFile: options.logFile, log, stop }
    }
    if (done || performance.now() > deadline) {
      await stop()
      throw new Error(`${options.name} did not start (${done ? "it exited" : "timeout"}); its output:\n${log().slice(-4000)}`)
    }
    await sleep(25)
  }
}

/** A service for the life of the enclosing scope. */
export const scoped = (options: Parameters<typeof start>[0]) =>
  Effect.acquireRelease(
    Effect.promise(() => start(options)),
    (service) => Effect.promise(() => service.stop().then((code) => void cleanupLines.push(`${service.name}: exited (${code})`)))
  )

/** One line per stopped service, printed at the end of the run. */
export const cleanupLines: Array<string> = []

/** CPU time (user + system) a process has used so far, in µs: /proc/<pid>/stat, in clock ticks of 10 ms. */
export const cpuMicros = (pid: number): number => {
  if (pid === process.pid) {
    const usage = process.cpuUsage()
    return usage.user + usage.system
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return Number.NaN
  }
}

/** Read and write syscalls a process has made so far (/proc/<pid>/io: read/readv/write/writev and friends). */
export const syscalls = (pid: number): { readonly reads: number; readonly writes: number } => {
  try {
    const io = readFileSync(`/proc/${pid}/io`, "utf8")
    return { reads: Number(/^syscr: (\d+)/m.exec(io)?.[1]), writes: Number(/^syscw: (\d+)/m.exec(io)?.[1]) }
  } catch {
    return { reads: Number.NaN, writes: Number.NaN }
  }
}

interface Usage {
  readonly micros: number
  readonly reads: number
  readonly writes: number
}

const usage = (pid: number): Usage => ({ micros: cpuMicros(pid), ...syscalls(pid) })

/**
 * CPU and read/write syscalls of named processes while `run` runs, added up over calls: where the time goes
 * when a row is slow (on a 2-core machine the client, the gateway and its backend share the cores).
 */
export class CpuMeter {
  readonly #pids: ReadonlyArray<readonly [string, number]>
  readonly #totals = new Map<string, { used: Map<string, Usage>; units: number; wallMs: number }>()
  constructor(pids: Readonly<Record<string, number>>) {
    this.#pids = Object.entries(pids)
  }
  async run<A>(row: string, units: number, run: () => Promise<A>): Promise<A> {
    const before = this.#pids.map(([, pid]) => usage(pid))
    const started = performance.now()
    const result = await run()
    const wallMs = performance.now() - started
    const total = this.#totals.get(row) ?? { used: new Map<string, Usage>(), units: 0, wallMs: 0 }
    this.#pids.forEach(([name, pid], i) => {
      const [now, then, sum] = [usage(pid), before[i], total.used.get(name)]
      if (then === undefined) return
      total.used.set(name, {
        micros: (sum?.micros ?? 0) + now.micros - then.micros,
        reads: (sum?.reads ?? 0) + now.reads - then.reads,
        writes: (sum?.writes ?? 0) + now.writes - then.writes
      })
    })
    total.units += units
    total.wallMs += wallMs
    this.#totals.set(row, total)
    return result
  }
  /** µs of CPU per unit that process `name` used over `row` (undefined if it never ran or used none). */
  microsPerUnit(row: string, name: string): number | undefined {
    const total = this.#totals.get(row)
    const micros = total?.used.get(name)?.micros
    // NaN when /proc could not be read (a process that never ran).
    return total === undefined || micros === undefined || !(micros > 0) ? undefined : micros / total.units
  }
  /**
   * One line per row: for each process that used CPU, µs of CPU and read/write syscalls per unit; and the
   * cores busy over the row.
   */
  report(): Array<string> {
    return [...this.#totals].map(([row, { used, units, wallMs }]) => {
      const active = [...used].filter(([, u]) => u.micros > 0)
      const parts = active.map(([name, u]) =>
        `${name} ${(u.micros / units).toFixed(1)} µs (r ${(u.reads / units).toFixed(2)}, w ${(u.writes / units).toFixed(2)})`
      )
      const busy = active.reduce((a, [, u]) => a + u.micros, 0) / 1000 / wallMs
      return `${row.padEnd(28)} ${parts.join(", ")}  (${busy.toFixed(2)} cores busy)`
    })
  }
}

/**
 * What a throughput target leaves a relay to spend, from CPU measured in the same run: at `rate` calls/s the
 * machine's cores give `cores * 1e6 / rate` µs of CPU per call in all, of which the other processes on the path
 * (the bench client, the backend server) take their measured share. On a 2-core machine they all share the cores,
 * so a target in req/s is also a budget in µs per call.
 */
export const cpuBudgetLine = (options: {
  readonly target: string
  readonly rate: number
  readonly others: ReadonlyArray<readonly [string, number | undefined]>
  readonly spent: ReadonlyArray<readonly [string, number | undefined]>
}): string => {
  const cores = availableParallelism()
  const all = (cores * 1e6) / options.rate
  const others = options.others.reduce<number | undefined>(
    (sum, [, micros]) => (sum === undefined || micros === undefined ? undefined : sum + micros),
    0
  )
  const us = (micros: number | undefined) => (micros === undefined ? "?" : `${micros.toFixed(0)} µs`)
  return `  CPU budget of ${options.target}: at ${options.rate.toFixed(0)} req/s the ${cores} cores give ${all.toFixed(0)} µs ` +
    `per call in all; ${options.others.map(([name, micros]) => `${name} ${us(micros)}`).join(" and ")} leave the relay ` +
    `at most ${us(others === undefined ? undefined : all - others)} (with every core busy all the time). Spent per call: ${
      options.spent.map(([name, micros]) => `${name} ${us(micros)}`).join(", ")
    }`
}
