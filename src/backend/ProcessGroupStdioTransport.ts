import { type ChildProcess, spawn } from "node:child_process"
import { serializeMessage } from "@modelcontextprotocol/client"
import type { JSONRPCMessage, Transport } from "@modelcontextprotocol/client"
import { getDefaultEnvironment } from "@modelcontextprotocol/client/stdio"
import { LineReader } from "./LineReader.ts"
import type { GroupTracker } from "./Watchdog.ts"

/** `send` after the server process ended (or while it is being ended): the message was not written. */
export class ProcessNotRunning extends Error {
  constructor() {
    super("the server process is not running")
  }
}

export interface StdioParameters {
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** Merged over the SDK's safe default environment (HOME, PATH, ...): nothing else of ours leaks to the child. */
  readonly env: Readonly<Record<string, string>>
  readonly cwd?: string | undefined
  /** Receives the child's stderr, one line at a time. */
  readonly onStderrLine?: ((line: string) => void) | undefined
  readonly tracker?: GroupTracker | undefined
  /** Grace periods; the defaults suit real servers, tests shorten them. */
  readonly eofGraceMillis?: number
  readonly termGraceMillis?: number
}

/**
 * An MCP stdio client transport whose child leads its own process group.
 *
 * The SDK's `StdioClientTransport` signals only its direct child, so a server started through a wrapper
 * (`npx`, `sh -c`) or one that ignores SIGTERM outlives it. This transport reuses the SDK's framing
 * (`serializeMessage`; reading is `LineReader`, the same framing without per-message schema checks) and
 * environment policy, spawns the child detached (setsid: its pid is
 * the group id), and on close ends the whole group: stdin EOF, then TERM, then KILL; the group is swept
 * again after the leader exits, also when it exits on its own, so no grandchild survives.
 */
export class ProcessGroupStdioTransport implements Transport {
  onclose?: (() => void) | undefined
  onerror?: ((error: Error) => void) | undefined
  onmessage?: ((message: JSONRPCMessage) => void) | undefined

  readonly #params: StdioParameters
  readonly #readBuffer = new LineReader()
  #child: ChildProcess | undefined
  #corked = false
  #pgid: number | undefined
  #exited: Promise<void> | undefined
  /** Settles once the child has spawned (true) or failed to (false): only then is its group known. */
  #spawned: Promise<boolean> | undefined
  #stdoutEnded: Promise<void> | undefined
  #closing: Promise<void> | undefined
  #closeFired = false

  constructor(params: StdioParameters) {
    this.#params = params
  }

  /** The child's pid (also its process group id); kept after close so callers can check it is gone. */
  get pid(): number | null {
    return this.#pgid ?? null
  }

  start(): Promise<void> {
    if (this.#child !== undefined) return Promise.reject(new Error("transport already started"))
    const params = this.#params
    return new Promise((resolve, reject) => {
      const child = spawn(params.command, [...params.args], {
        env: { ...getDefaultEnvironment(), ...params.env },
        cwd: params.cwd,
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
        shell: false,
        windowsHide: true
      })
      this.#child = child
      this.#spawned = new Promise((done) => {
        child.once("spawn", () => done(true))
        child.once("error", () => done(false))
      })
      this.#exited = new Promise((done) => child.once("exit", () => done()))
      this.#stdoutEnded = new Promise((done) => child.stdout?.once("close", () => done()))
      child.once("error", (error) => {
        // Spawn failures (ENOENT, EACCES) arrive here instead of "spawn".
        if (this.#pgid === undefined) reject(error)
        else this.onerror?.(error)
        this.#fireClose()
      })
      child.once("spawn", () => {
        this.#pgid = child.pid
        if (child.pid !== undefined) params.tracker?.add(child.pid)
        resolve()
      })
      child.once("exit", () => {
        // The leader is gone; anything left in its group (a wrapped server, a grandchild) goes too.
        void this.close()
      })
      child.stdout?.on("data", (chunk: Buffer) => this.#onData(chunk))
      child.stdout?.on("error", (error) => this.onerror?.(error))
      child.stdin?.on("error", (error) => this.onerror?.(error))
      // stderr is always drained: a full pipe would block the child (and its exit) forever.
      let pending = ""
      child.stderr?.setEncoding("utf8")
      child.stderr?.on("data", (text: string) => {
        const lines = (pending + text).split("\n")
        pending = lines.pop() ?? ""
        // Output without newlines must not grow without bound: past 64 KiB it is logged as a line.
        if (pending.length > maxStderrLine) {
          lines.push(pending)
          pending = ""
        }
        for (const line of lines) if (line.length > 0) params.onStderrLine?.(line)
      })
      child.stderr?.on("end", () => {
        if (pending.length > 0) params.onStderrLine?.(pending)
        pending = ""
      })
    })
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.#child?.stdin
    if (stdin === null || stdin === undefined || !stdin.writable || this.#closing !== undefined) {
      return Promise.reject(new ProcessNotRunning())
    }
    // Messages sent in the same turn of the event loop (many sessions' calls arriving together) leave in one
    // write: the pipe is corked until the I/O phase is over, so a burst costs one syscall rather than one each.
    if (!this.#corked) {
      this.#corked = true
      stdin.cork()
      setImmediate(() => {
        this.#corked = false
        stdin.uncork()
      })
    }
    return new Promise((resolve, reject) => {
      // A failed write (EPIPE) is not ProcessNotRunning: corked messages share one write, and its error reaches every
      // one of them, some of which the server may have read. Only what was never written may be sent again.
      stdin.write(serializeMessage(message), (error) => (error ? reject(error) : resolve()))
    })
  }

  /** Ends the child's whole process group; resolves when nothing of it is left. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#terminate().finally(() => this.#fireClose())
    return this.#closing
  }

  #onData(chunk: Buffer) {
    try {
      this.#readBuffer.append(chunk)
    } catch (error) {
      // Over the buffer limit (a message, or output without a newline, beyond 10 MiB): the stream can no
      // longer be framed. Report it and end the connection; the backend restarts it.
      this.onerror?.(error instanceof Error ? error : new Error(String(error)))
      void this.close()
      return
    }
    for (;;) {
      let message: JSONRPCMessage | null
      try {
        message = this.#readBuffer.read()
      } catch (error) {
        // One bad line must not stop the stream: report it and read on.
        this.onerror?.(error instanceof Error ? error : new Error(String(error)))
        continue
      }
      if (message === null) return
      this.onmessage?.(message)
    }
  }

  async #terminate(): Promise<void> {
    const child = this.#child
    // Closed right after start: the child is spawning (its pid comes with "spawn"), and must not be left running.
    if (child !== undefined && this.#pgid === undefined) await this.#spawned
    const pgid = this.#pgid
    if (child === undefined || pgid === undefined) return
    const eofGrace = this.#params.eofGraceMillis ?? 1_000
    const termGrace = this.#params.termGraceMillis ?? 2_000
    const exited = this.#exited ?? Promise.resolve()
    const leaderRunning = () => child.exitCode === null && child.signalCode === null
    if (leaderRunning()) {
      child.stdin?.end() // well-behaved servers exit on EOF
      if (!(await settlesWithin(exited, eofGrace))) {
        signalGroup(pgid, "SIGTERM")
        if (!(await settlesWithin(exited, termGrace))) signalGroup(pgid, "SIGKILL")
        // Bounded even now: a process stuck in uninterruptible sleep must not hang the gateway's shutdown.
        await settlesWithin(exited, termGrace)
      }
    }
    // The leader's last messages may still be in the pipe when it exits: read them before closing it.
    await settlesWithin(this.#stdoutEnded ?? Promise.resolve(), 500)
    // The leader is gone, but a wrapper's child or a grandchild may still hold the group.
    if (groupAlive(pgid)) {
      signalGroup(pgid, "SIGTERM")
      if (!(await groupEmptiesWithin(pgid, termGrace))) {
        signalGroup(pgid, "SIGKILL")
        await groupEmptiesWithin(pgid, termGrace)
      }
    }
    this.#params.tracker?.remove(pgid)
    child.stdin?.destroy()
    child.stdout?.destroy()
    child.stderr?.destroy()
    this.#readBuffer.clear()
  }

  #fireClose() {
    if (this.#closeFired) return
    this.#closeFired = true
    this.onclose?.()
  }
}

const maxStderrLine = 64 * 1024

const signalGroup = (pgid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(-pgid, signal)
  } catch {
    // ESRCH: the group is already empty
  }
}

/** `kill(-pgid, 0)` succeeds while any member exists (zombies included, until pid 1 reaps them). */
const groupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

const settlesWithin = (promise: Promise<void>, millis: number) =>
  new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), millis)
    void promise.then(() => {
      clearTimeout(timer)
      resolve(true)
    })
  })

const groupEmptiesWithin = async (pgid: number, millis: number) => {
  for (let waited = 0; waited < millis; waited += 25) {
    if (!groupAlive(pgid)) return true
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return !groupAlive(pgid)
}
