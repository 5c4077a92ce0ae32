import { Predicate } from "effect"
import { type ConfigProblem, formatPath } from "./ConfigErrors.ts"

/** The environment `${NAME}` references read from: `process.env` in the service, a literal record in tests. */
export type Environment = Readonly<Record<string, string | undefined>>

export interface Expanded {
  readonly value: unknown
  /** One problem per unset variable per string that uses it, at that string's JSON path. */
  readonly problems: ReadonlyArray<ConfigProblem>
}

const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/**
 * Replaces `${NAME}` in every string value of a parsed JSON document (object keys are left alone) with
 * `env[NAME]`. A variable set to "" counts as set. An unset variable is reported and its reference is left
 * in place, so the rest of the document still decodes and its other problems are reported too.
 */
export const expand = (json: unknown, env: Environment): Expanded => {
  const problems: Array<ConfigProblem> = []
  const visit = (value: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
    if (typeof value === "string") {
      return value.replace(reference, (whole, name: string) => {
        const replacement = env[name]
        if (replacement !== undefined) return replacement
        problems.push({ path: formatPath(path), message: `environment variable ${name} is not set` })
        return whole
      })
    }
    if (Array.isArray(value)) return value.map((item: unknown, index) => visit(item, [...path, index]))
    if (Predicate.isObject(value)) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, visit(item, [...path, key])]))
    }
    return value
  }
  const value = visit(json, [])
  return { value, problems }
}
