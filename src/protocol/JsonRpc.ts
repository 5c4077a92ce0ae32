/**
 * JSON-RPC 2.0 messages as the gateway sees them: an envelope to route, never a payload to interpret.
 *
 * Every object keeps its unknown fields (`_meta`, `resultType`, `inputRequests`, ...): MCP keeps adding fields
 * and the gateway forwards them untouched, so `params`, `result` and unknown top-level keys stay plain JSON.
 * Pure code: schemas, guards and constructors; nothing here runs an effect.
 */
import {
  INTERNAL_ERROR,
  INVALID_PARAMS,
  INVALID_REQUEST,
  type JSONRPCMessage,
  METHOD_NOT_FOUND,
  PARSE_ERROR,
  ProtocolErrorCode
} from "@modelcontextprotocol/client"
import { Effect, Schema, type SchemaAST, SchemaIssue, SchemaParser } from "effect"
import { McpSchema } from "effect/ai"

// =============================================================================
// Error codes
// =============================================================================

/** -32700: the payload is not JSON. */
export const ParseError = PARSE_ERROR
/** -32600: JSON, but not a valid JSON-RPC request. */
export const InvalidRequest = INVALID_REQUEST
/** -32601 */
export const MethodNotFound = METHOD_NOT_FOUND
/** -32602 */
export const InvalidParams = INVALID_PARAMS
/** -32603 */
export const InternalError = INTERNAL_ERROR
/**
 * -32001: the request timed out. SDK v1 named it `ErrorCode.RequestTimeout`; SDK v2 reports timeouts locally as
 * `SdkErrorCode.RequestTimeout` (a string, never on the wire), so the number is ours to send.
 */
export const RequestTimeout = -32001
/**
 * -32002: resource not found. The SDK only tolerates it on receipt (it answers `resources/read` misses with
 * -32602 on every era); kept so the gateway can recognise it from older backends.
 */
export const ResourceNotFound: -32002 = ProtocolErrorCode.ResourceNotFound
/** -32020 (2026-07-28 era): an `Mcp-Method` / `Mcp-Name` header disagrees with the body. Named by effect/ai only. */
export const HeaderMismatch = McpSchema.HEADER_MISMATCH_ERROR_CODE
/** -32022 (2026-07-28 era): the request's protocol version is unknown or unsupported. */
export const UnsupportedProtocolVersion: -32022 = ProtocolErrorCode.UnsupportedProtocolVersion

// =============================================================================
// Schemas
// =============================================================================

/** A plain JSON object, kept whole (one level checked: it is an object, not an array or null). */
const JsonObject = Schema.Record(Schema.String, Schema.Unknown)
// The rest signature that keeps the keys a struct does not declare (Schema strips them by default).
const keepUnknownKeys = [JsonObject] as const

/** `string | number`, as `effect/ai` McpSchema defines it (a finite number). */
export const RequestId = McpSchema.RequestId
export type RequestId = typeof RequestId.Type

const Version = Schema.Literal("2.0")

/*
 * The types below and the SDK's (`JSONRPCRequest`, ..., `JSONRPCMessage`) are assignable to each other, so a
 * message from a Transport's `onmessage` is a `Message` as it is, and one for `send` needs at most
 * `toSdkMessage`. That is why optional fields use `Schema.optional` (`?: A | undefined`, as the SDK types
 * them under exactOptionalPropertyTypes) rather than `optionalKey`.
 */

export const Request = Schema.StructWithRest(
  Schema.Struct({
    jsonrpc: Version,
    id: RequestId,
    method: Schema.String,
    params: Schema.optional(JsonObject)
  }),
  keepUnknownKeys
)
export type Request = typeof Request.Type

/**
 * A request without an id. Decoded alone, a message carrying an `id` is refused; inside {@link Message} it is a
 * {@link Request} instead.
 */
export const Notification = Schema.StructWithRest(
  Schema.Struct({
    jsonrpc: Version,
    method: Schema.String,
    params: Schema.optional(JsonObject)
  }),
  keepUnknownKeys
).check(Schema.makeFilter((message) =>
  message["id"] === undefined
    ? undefined
    : { path: ["id"], issue: "A notification has no \"id\" (a message with an id is a request)" }
))
export type Notification = typeof Notification.Type

export const ErrorObject = Schema.StructWithRest(
  Schema.Struct({
    code: Schema.Int,
    message: Schema.String,
    data: Schema.optionalKey(Schema.Unknown)
  }),
  keepUnknownKeys
)
export type ErrorObject = typeof ErrorObject.Type

export const SuccessResponse = Schema.StructWithRest(
  Schema.Struct({
    jsonrpc: Version,
    id: RequestId,
    result: JsonObject
  }),
  keepUnknownKeys
)
export type SuccessResponse = typeof SuccessResponse.Type

export const ErrorResponse = Schema.StructWithRest(
  Schema.Struct({
    jsonrpc: Version,
    // null when the id could not be read from the offending request (JSON-RPC 2.0 §5). Also accepted when
    // absent: that is how SDK v2 peers send such errors (their JSONRPCErrorResponse has `id?: RequestId`).
    id: Schema.optional(Schema.Union([RequestId, Schema.Null])),
    error: ErrorObject
  }),
  keepUnknownKeys
)
export type ErrorResponse = typeof ErrorResponse.Type

export type Response = SuccessResponse | ErrorResponse
export type Message = Request | Notification | Response

// -----------------------------------------------------------------------------
// Message and Response pick their member by shape, then decode with that member alone. A plain Schema.Union
// tries every member and reports all four failures ("Missing key at method / Expected never at id / ..."); this
// way the error names the one field that is wrong for the kind of message it is.
// -----------------------------------------------------------------------------

type Kind = "request" | "notification" | "success" | "error"

const isRecord = (u: unknown): u is { readonly [key: string]: unknown } =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const kindOf = (u: { readonly [key: string]: unknown }): Kind | SchemaIssue.Issue => {
  if (u["method"] !== undefined) return u["id"] === undefined ? "notification" : "request"
  const hasResult = u["result"] !== undefined
  const hasError = u["error"] !== undefined
  if (hasResult && hasError) {
    return new SchemaIssue.InvalidValue({ message: "A response has either \"result\" or \"error\", not both" })
  }
  if (hasResult) return "success"
  if (hasError) return "error"
  return new SchemaIssue.InvalidValue({
    message: "Expected a JSON-RPC 2.0 message: a request or notification (\"method\") " +
      "or a response (\"result\" or \"error\")"
  })
}

type Decoder<A> = (u: unknown, options?: SchemaAST.ParseOptions) => Effect.Effect<A, SchemaIssue.Issue>

const decodeByKind = <A>(decoders: { readonly [K in Kind]: Decoder<A> }) =>
(u: unknown, ast: SchemaAST.Declaration, options: SchemaAST.ParseOptions): Effect.Effect<A, SchemaIssue.Issue> => {
  if (!isRecord(u)) return Effect.fail(new SchemaIssue.InvalidType(ast, u, options))
  const kind = kindOf(u)
  return typeof kind === "string" ? decoders[kind](u, options) : Effect.fail(kind)
}

const notAResponse: Decoder<never> = () =>
  Effect.fail(
    new SchemaIssue.InvalidValue({
      message: "Expected a JSON-RPC 2.0 response (\"result\" or \"error\"), got a request or notification (\"method\")"
    })
  )

/** Any JSON-RPC 2.0 message; an error names the field that is wrong for the kind of message it is. */
export const Message = Schema.declareConstructor<Message, Message>()(
  [Request, Notification, SuccessResponse, ErrorResponse],
  ([request, notification, success, error]) =>
    decodeByKind<Message>({
      request: SchemaParser.decodeUnknownEffect(request),
      notification: SchemaParser.decodeUnknownEffect(notification),
      success: SchemaParser.decodeUnknownEffect(success),
      error: SchemaParser.decodeUnknownEffect(error)
    }),
  { expected: "a JSON-RPC 2.0 message object" }
)

/** A success or error response, e.g. what a client posts back for a backend's `sampling/createMessage`. */
export const Response = Schema.declareConstructor<Response, Response>()(
  [SuccessResponse, ErrorResponse],
  ([success, error]) =>
    decodeByKind<Response>({
      request: notAResponse,
      notification: notAResponse,
      success: SchemaParser.decodeUnknownEffect(success),
      error: SchemaParser.decodeUnknownEffect(error)
    }),
  { expected: "a JSON-RPC 2.0 response object" }
)

// =============================================================================
// Guards (on decoded messages: they look at the shape Message already checked)
// =============================================================================

export const isRequest = (message: Message): message is Request =>
  message["method"] !== undefined && message["id"] !== undefined

export const isNotification = (message: Message): message is Notification =>
  message["method"] !== undefined && message["id"] === undefined

export const isResponse = (message: Message): message is Response => message["method"] === undefined

export const isSuccessResponse = (message: Message): message is SuccessResponse =>
  message["method"] === undefined && message["result"] !== undefined

export const isErrorResponse = (message: Message): message is ErrorResponse =>
  message["method"] === undefined && message["error"] !== undefined

// =============================================================================
// Constructors
// =============================================================================

export const errorResponse = (
  id: RequestId | null,
  code: number,
  message: string,
  data?: unknown
): ErrorResponse => ({
  jsonrpc: "2.0",
  id,
  // exactOptionalPropertyTypes: an absent `data` stays absent, never `data: undefined` on the wire.
  error: data === undefined ? { code, message } : { code, message, data }
})

/** A copy of `message` that answers to / asks under another id; every other field is kept as is. */
export const withId = <M extends Request | Response>(message: M, id: RequestId): M => ({ ...message, id })

/**
 * The same message typed for the SDK's `Transport.send`. Requests, notifications and success responses already
 * are `JSONRPCMessage`s; an error response with `id: null` drops the id, as SDK v2 writes such errors.
 */
export const toSdkMessage = (message: Message): JSONRPCMessage => {
  if (!isErrorResponse(message)) return message
  const { id, ...withoutId } = message
  return id === null || id === undefined ? withoutId : { ...withoutId, id }
}
