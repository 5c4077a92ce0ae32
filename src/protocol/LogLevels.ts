import type { LoggingLevel } from "@modelcontextprotocol/client"

/** MCP log levels from the least severe to the most (RFC 5424's order). */
const bySeverity = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const satisfies ReadonlyArray<
  LoggingLevel
>

const severity = (level: unknown): number => bySeverity.indexOf(level as LoggingLevel)

/** Whether `level` is one MCP defines. */
export const isLevel = (level: unknown): level is LoggingLevel => severity(level) !== -1

/** The levels, for a message that lists them. */
export const levels: ReadonlyArray<LoggingLevel> = bySeverity

/**
 * Whether a log message at `level` is below what a client asked for with `logging/setLevel` (`threshold`), so not
 * for it. A level the client or the server named that MCP does not know is never a reason to drop a message.
 */
export const isBelow = (level: unknown, threshold: string | undefined): boolean => {
  const [message, wanted] = [severity(level), severity(threshold)]
  return message !== -1 && wanted !== -1 && message < wanted
}
