/**
 * SEP-2243 (2026-07-28 Streamable HTTP, "Custom Headers"): a tool's `inputSchema` may mark a primitive property with
 * `x-mcp-header: "<Name>"`, and a client then sends that argument as the `Mcp-Param-<Name>` HTTP header beside the
 * body of each `tools/call`; the server rejects a call whose headers do not match its body (400, -32020).
 *
 * The SDK computes and checks these (its `scanXMcpHeaderDeclarations`, `buildMcpParamHeaders`,
 * `validateMcpParamHeaders`) but exports none of them from any public entry of `@modelcontextprotocol/client`,
 * `/server` or `/core` (2.4.0): this is the same logic, kept to what the gateway needs. Pure.
 */

/** One `x-mcp-header` declaration: the argument's path under `arguments`, its header name and declared type. */
export interface Declaration {
  readonly path: ReadonlyArray<string>
  readonly header: string
  readonly type: string | undefined
}

/**
 * What a tool's schema declares. `valid` is false when a declaration breaks the spec's rules: a client then sends no
 * `Mcp-Param-*` header for the tool, while a server still checks the declarations it found (as the SDK does).
 */
export interface Scan {
  readonly valid: boolean
  readonly declarations: ReadonlyArray<Declaration>
}

const headerPrefix = "Mcp-Param-"
/** RFC 9110 `token`: a header name. */
const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** `number` is not permitted (an integer-or-float value has no single text form); only these are. */
const permittedTypes = new Set(["string", "integer", "boolean"])
/** Keywords under which a declaration is not statically reachable through `properties`: the tool is invalid. */
const unreachable = [
  "items", "prefixItems", "contains", "additionalProperties", "unevaluatedProperties", "unevaluatedItems",
  "propertyNames", "patternProperties", "dependentSchemas", "oneOf", "anyOf", "allOf", "not", "if", "then", "else",
  "$defs", "definitions"
]
/** Of those, the ones whose value is a `name → subschema` object. */
const keyed = new Set(["patternProperties", "dependentSchemas", "$defs", "definitions"])

const isObject = (value: unknown): value is Readonly<Record<string, unknown>> => typeof value === "object" && value !== null

/** The declarations in a tool's `inputSchema`, and whether they keep the spec's rules. */
export const scan = (inputSchema: unknown): Scan => {
  const declarations: Array<Declaration> = []
  const seen = new Set<string>()
  let numberTyped = false
  // A structural fault (a misplaced, malformed or duplicate declaration) makes the declarations meaningless.
  const visit = (node: unknown, path: ReadonlyArray<string>, reachable: boolean): boolean => {
    if (!isObject(node)) return true
    if ("x-mcp-header" in node) {
      const header = node["x-mcp-header"]
      if (!reachable || path.length === 0 || typeof header !== "string" || !token.test(header)) return false
      const type = typeof node["type"] === "string" ? node["type"] : undefined
      if (type === "number") numberTyped = true
      else if (type === undefined || !permittedTypes.has(type)) return false
      if (seen.has(header.toLowerCase())) return false
      seen.add(header.toLowerCase())
      declarations.push({ path, header, type })
    }
    const properties = node["properties"]
    if (isObject(properties)) {
      for (const [key, child] of Object.entries(properties)) if (!visit(child, [...path, key], reachable)) return false
    }
    for (const keyword of unreachable) {
      const sub = node[keyword]
      if (sub === undefined) continue
      const branches = Array.isArray(sub) ? sub : keyed.has(keyword) && isObject(sub) ? Object.values(sub) : [sub]
      for (const branch of branches) if (!visit(branch, [...path, `<${keyword}>`], false)) return false
    }
    return true
  }
  if (!visit(inputSchema, [], true)) return { valid: false, declarations: [] }
  return { valid: !numberTyped, declarations }
}

/** The scans of the tools in a `tools/list` result's `tools` that declare any header, by tool name. */
export const ofTools = (tools: unknown): ReadonlyArray<readonly [string, Scan]> =>
  Array.isArray(tools)
    ? tools.flatMap((tool): ReadonlyArray<readonly [string, Scan]> => {
      if (!isObject(tool) || typeof tool["name"] !== "string") return []
      const found = scan(tool["inputSchema"])
      return found.declarations.length === 0 ? [] : [[tool["name"], found]]
    })
    : []

const valueAt = (root: unknown, path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), root)

/** An argument as header text: strings as they are, numbers in decimal, booleans in lower case; else none. */
const asText = (value: unknown): string | undefined => {
  if (typeof value === "string") return value
  if (typeof value === "boolean") return value ? "true" : "false"
  if (typeof value === "number" && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))) {
    return String(value)
  }
  return undefined
}

const sentinel = { prefix: "=?base64?", suffix: "?=" }
const canonicalBase64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const canonicalDecimal = /^-?\d+(\.\d+)?$/

/**
 * A value as a header field value: plain when it is printable ASCII with no surrounding space (and does not look
 * like the sentinel itself), else `=?base64?<UTF-8 in Base64>?=`.
 */
export const encode = (value: string): string => {
  const plain = value.length > 0 && value === value.trim() && /^[\t\x20-\x7e]*$/.test(value) &&
    !(value.startsWith(sentinel.prefix) && value.endsWith(sentinel.suffix))
  return plain ? value : `${sentinel.prefix}${Buffer.from(value, "utf8").toString("base64")}${sentinel.suffix}`
}

/** A header value as text: the sentinel decoded; undefined when its payload is not canonical Base64 of UTF-8. */
export const decode = (value: string): string | undefined => {
  if (!(value.startsWith(sentinel.prefix) && value.endsWith(sentinel.suffix))) return value
  const payload = value.slice(sentinel.prefix.length, value.length - sentinel.suffix.length)
  if (!canonicalBase64.test(payload)) return undefined
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(payload, "base64"))
  } catch {
    return undefined
  }
}

/** The `Mcp-Param-*` headers of one call: an argument that is absent, null or not a primitive gets none. */
export const headersFor = (declarations: ReadonlyArray<Declaration>, args: unknown): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const declaration of declarations) {
    const text = asText(valueAt(args, declaration.path))
    if (text !== undefined) headers[`${headerPrefix}${declaration.header}`] = encode(text)
  }
  return headers
}

/**
 * Why a call's headers do not match its body, or undefined when they do: every declared argument the body carries
 * needs its header, decoding to the same value (numerically for numbers). `header` reads a request header by its
 * lower-case name.
 */
export const mismatch = (
  declarations: ReadonlyArray<Declaration>,
  args: unknown,
  header: (lowerCaseName: string) => string | undefined
): string | undefined => {
  for (const declaration of declarations) {
    const name = `${headerPrefix}${declaration.header}`
    const body = valueAt(args, declaration.path)
    const text = asText(body)
    if (text === undefined) continue
    const sent = header(name.toLowerCase())
    if (sent === undefined) return `the body carries ${declaration.path.join(".")} but the ${name} header is absent`
    const decoded = decode(sent)
    if (decoded === undefined) return `the ${name} header carries an invalid Base64 value`
    const equal = typeof body === "number" && canonicalDecimal.test(decoded) ? Number(decoded) === body : decoded === text
    if (!equal) return `the ${name} header does not match the body's ${declaration.path.join(".")}`
  }
  return undefined
}
