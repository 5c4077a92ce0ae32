/**
 * The processes a service started itself (Linux, /proc): the npm peers spawn their server-everything (through
 * `sh -c` for supergateway, in a process group of its own), so the bench finds them by parentage to meter
 * their CPU and to check that they are gone once the peer has stopped.
 */
import { readdirSync, readFileSync } from "node:fs"

export interface ProcessInfo {
  readonly pid: number
  /** The thread name from /proc/<pid>/stat (`sh`; Node names its main thread `MainThread`). */
  readonly comm: string
  /** The command line, arguments joined by spaces (/proc/<pid>/cmdline). */
  readonly command: string
}

const commandOf = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a !== "").join(" ")
  } catch {
    return ""
  }
}

const stat = (pid: number): { readonly ppid: number; readonly comm: string } | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8")
    const close = text.lastIndexOf(")")
    return { comm: text.slice(text.indexOf("(") + 1, close), ppid: Number(text.slice(close + 2).split(" ")[1]) }
  } catch {
    return undefined
  }
}

/** Every live descendant of `root` (children, grandchildren, ...), in no particular order. */
export const descendants = (root: number): Array<ProcessInfo> => {
  const children = new Map<number, Array<{ readonly pid: number; readonly comm: string }>>()
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    const info = stat(Number(name))
    if (info === undefined) continue
    const list = children.get(info.ppid) ?? []
    list.push({ pid: Number(name), comm: info.comm })
    children.set(info.ppid, list)
  }
  const found: Array<ProcessInfo> = []
  const queue = [root]
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push({ ...child, command: commandOf(child.pid) })
      queue.push(child.pid)
    }
  }
  return found
}

/** Whether `pid` is still running: it exists and is not a zombie (one waiting to be reaped has stopped). */
export const isRunning = (pid: number): boolean => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8")
    return text.charAt(text.lastIndexOf(")") + 2) !== "Z"
  } catch {
    return false
  }
}
