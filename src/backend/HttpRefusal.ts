import { SdkHttpError } from "@modelcontextprotocol/client"

/** How deep a refusal's `data` is kept: a backend's body is not the gateway's to trust (a deep one overflowed the stack). */
const maxDataDepth = 16

/** Every string in a JSON value, keys included, redacted; what lies deeper than `maxDataDepth` is dropped. */
const redactAll = (value: unknown, redact: (text: string) => string, depth = 0): unknown =>
  depth > maxDataDepth
    ? undefined
    : typeof value === "string"
    ? redact(value)
    : Array.isArray(value)
    ? value.map((item) => redactAll(item, redact, depth + 1))
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.entries(value).map(([key, item]) => [redact(key), redactAll(item, redact, depth + 1)]))
    : value

/**
 * A 400 or 404 from an HTTP backend, with the JSON-RPC error in its body if there is one (redacted: a server may
 * echo a header the gateway sent it).
 */
export const httpRefusalOf = (error: unknown, redact: (text: string) => string) => {
  if (!(error instanceof SdkHttpError) || (error.data.status !== 400 && error.data.status !== 404)) return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(String(error.data.text ?? ""))
  } catch {
    parsed = undefined
  }
  const body = typeof parsed === "object" && parsed !== null
    ? (parsed as { error?: { code?: unknown; message?: unknown; data?: unknown } }).error
    : undefined
  // The error's `data` says what the client must know (the capabilities it lacks, the versions spoken): kept, redacted.
  const jsonRpc = typeof body?.code === "number" && typeof body.message === "string"
    ? { error: { code: body.code, message: redact(body.message), ...(body.data === undefined ? {} : { data: redactAll(body.data, redact) }) } }
    : {}
  return { refusal: { status: error.data.status, ...jsonRpc } }
}
