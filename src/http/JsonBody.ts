import { ByteSize, Effect, Schema } from "effect"
import { HttpServerRequest } from "effect/http"
import { BodyTooLarge, InvalidJson, InvalidRequest } from "./HttpErrors.ts"

/** The largest body `readJson` accepts unless told otherwise: 1 MiB. */
export const defaultMaxBytes = 1024 * 1024

/** Bodies up to this size have every problem named; larger ones, the first. */
const allProblemsUpTo = 16 * 1024

export interface ReadJsonOptions {
  /** The largest body accepted, in bytes (default 1 MiB). */
  readonly maxBytes?: number | undefined
  /** An empty body (or only whitespace) is `undefined` instead of InvalidJson. */
  readonly optional?: boolean | undefined
}

type ReadJson<A, R> = Effect.Effect<
  A,
  BodyTooLarge | InvalidJson | InvalidRequest,
  HttpServerRequest.HttpServerRequest | R
>

// V8's "Unexpected token" message quotes the text around the error (`, ..."abc" is not valid JSON`, or
// `, "abc"... is not valid JSON`): that is the client's own body, which may hold a secret. Drop it.
const quotedBody = /, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s
const jsonErrorDetail = (cause: unknown) =>
  (cause instanceof Error ? cause.message : String(cause)).replace(quotedBody, "")

const contentLength = (header: string | undefined): number | undefined =>
  header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined

/**
 * Reads the current request's body as JSON and decodes it with `schema`.
 *
 * - A `content-length` over `maxBytes` is BodyTooLarge before a byte is read. Otherwise the body is read
 *   under Effect's own limit, `HttpServerRequest.MaxBodySize`, which the Node server (and the web handler)
 *   check as bytes arrive, so a chunked body stops with BodyTooLarge once it passes the limit too.
 * - Text that is not JSON is InvalidJson; JSON of the wrong shape is InvalidRequest, naming each field (the first
 *   one only for a body over 16 KiB).
 * - The schema decodes through `Schema.toCodecJson`, as `HttpServerRequest.schemaBodyJson` does.
 *
 * The decoder is derived when this is called, not per request: call it once (at module level) and reuse the
 * effect it returns.
 */
export const readJson: {
  <S extends Schema.Constraint>(
    schema: S,
    options: ReadJsonOptions & { readonly optional: true }
  ): ReadJson<S["Type"] | undefined, S["DecodingServices"]>
  <S extends Schema.Constraint>(schema: S, options?: ReadJsonOptions): ReadJson<S["Type"], S["DecodingServices"]>
} = <S extends Schema.Constraint>(
  schema: S,
  options?: ReadJsonOptions
): ReadJson<S["Type"] | undefined, S["DecodingServices"]> => {
  const maxBytes = options?.maxBytes ?? defaultMaxBytes
  const decode = Schema.decodeUnknownEffect(Schema.toCodecJson(schema))
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const declared = contentLength(request.headers["content-length"])
    if (declared !== undefined && declared > maxBytes) return yield* new BodyTooLarge({ limit: maxBytes })
    const text = yield* request.text.pipe(
      Effect.provideService(HttpServerRequest.MaxBodySize, ByteSize.bytes(maxBytes)),
      Effect.mapError((error) =>
        error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge"
          ? new BodyTooLarge({ limit: maxBytes })
          : new InvalidJson({ detail: "the body could not be read" })
      )
    )
    if (text.trim() === "") {
      if (options?.optional === true) return undefined
      return yield* new InvalidJson({ detail: "the body is empty" })
    }
    const json = yield* Effect.try({
      try: (): unknown => JSON.parse(text),
      catch: (cause) => new InvalidJson({ detail: jsonErrorDetail(cause) })
    })
    // Every problem is named for a body of ordinary size; a large one gets its first: a megabyte of wrong items
    // would otherwise cost seconds of CPU and an answer many times the body's size.
    return yield* decode(json, { errors: text.length <= allProblemsUpTo ? "all" : "first" }).pipe(
      Effect.mapError((error) => InvalidRequest.fromSchemaError(error))
    )
  })
}
