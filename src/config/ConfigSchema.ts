import { Effect, Schema, SchemaGetter, SchemaIssue, SchemaParser, type SchemaAST } from "effect"

// The JSON config file, as Effect Schemas. Each schema's `Type` is the decoded value the gateway uses
// (defaults filled in, tokens wrapped in `Redacted`, servers tagged with `kind`); its `Encoded` side is
// what a user writes. Rules that span fields (one auth method per client, known server ids, ...) live in
// ConfigRules.ts, because a Schema check on a struct only runs once every field of it decodes, and a
// config report must list every problem at once. ConfigLoader.decode runs both (and `${VAR}` expansion):
// decoding with `Config` alone checks the shape only.

const NonEmptyString = Schema.String.check(Schema.isMinLength(1, { message: "must not be empty" }))
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0, { message: "must be a positive integer" }))
const PositiveNumber = Schema.Finite.check(Schema.isGreaterThan(0, { message: "must be a positive number" }))
const Port = Schema.Int.check(
  Schema.isBetween({ minimum: 0, maximum: 65535 }, { message: "must be an integer from 0 to 65535" })
)
const StringRecord = Schema.Record(Schema.String, Schema.String)

const HttpUrl = Schema.String.check(
  Schema.makeFilter<string>((text) => {
    const url = URL.parse(text)
    if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) return "must be an http:// or https:// URL"
    // fetch refuses such a URL, and its error quotes it whole: the credentials would reach logs and /healthz.
    if (url.username !== "" || url.password !== "") {
      return "must not hold credentials (user:password@): send them in headers, e.g. \"Authorization\""
    }
    return true
  })
)

/** A key the user may leave out: decoding fills in `value` (given in the file's own terms). */
const withDefault = <S extends Schema.Constraint>(value: S["Encoded"]) =>
  Schema.withDecodingDefaultKey<S>(Effect.succeed(value))

// --- servers ---------------------------------------------------------------------------------------

export const Isolation = Schema.Literals(["shared", "session"])
export const Transport = Schema.Literals(["streamable-http", "sse"])

const commonServerFields = {
  /** "shared": one connection for all sessions; "session": one per session (for stateful servers). */
  isolation: Isolation.pipe(withDefault("shared")),
  /** Overrides `streaming.requestTimeoutSeconds` for this server. */
  requestTimeoutSeconds: Schema.optionalKey(PositiveNumber)
}
const stdioFields = {
  command: NonEmptyString,
  args: Schema.Array(Schema.String).pipe(withDefault([])),
  env: StringRecord.pipe(withDefault({})),
  cwd: Schema.optionalKey(NonEmptyString),
  ...commonServerFields
}
const remoteFields = {
  url: HttpUrl,
  headers: StringRecord.pipe(withDefault({})),
  ...commonServerFields
}

// What a user writes. `type` is accepted because other MCP clients' configs (Claude Code, Cursor) carry it;
// it is checked against the server's shape and not kept.
const StdioServerFile = Schema.Struct({ type: Schema.optionalKey(Schema.Literal("stdio")), ...stdioFields })
const RemoteServerFile = Schema.Struct({
  type: Schema.optionalKey(Schema.Literals(["http", "streamable-http", "sse"])),
  transport: Schema.optionalKey(Transport),
  ...remoteFields
})

/** A server the gateway spawns and talks to over stdin/stdout. */
export const StdioServerConfig = Schema.Struct({ kind: Schema.Literal("stdio"), ...stdioFields })
export type StdioServerConfig = typeof StdioServerConfig.Type

/** A server the gateway reaches over HTTP (Streamable HTTP, or the legacy SSE transport). */
export const RemoteServerConfig = Schema.Struct({
  kind: Schema.Literal("remote"),
  transport: Transport,
  ...remoteFields
})
export type RemoteServerConfig = typeof RemoteServerConfig.Type

const fail = (message: string, path?: ReadonlyArray<PropertyKey>) => {
  const issue = new SchemaIssue.InvalidValue({ message })
  return Effect.fail(path === undefined ? issue : new SchemaIssue.Pointer(path, issue))
}

const decodeStdio = (input: unknown, options: SchemaAST.ParseOptions) =>
  Effect.map(
    SchemaParser.decodeUnknownEffect(StdioServerFile)(input, options),
    ({ type: _type, ...server }): StdioServerConfig => ({ kind: "stdio", ...server })
  )

const decodeRemote = (input: unknown, options: SchemaAST.ParseOptions) =>
  Effect.flatMap(
    SchemaParser.decodeUnknownEffect(RemoteServerFile)(input, options),
    ({ type, transport, ...server }) => {
      const implied = type === undefined ? undefined : type === "sse" ? "sse" : "streamable-http"
      if (transport !== undefined && implied !== undefined && transport !== implied) {
        return fail(`"${transport}" contradicts "type": "${type}"`, ["transport"])
      }
      const decoded: RemoteServerConfig = {
        kind: "remote",
        transport: transport ?? implied ?? "streamable-http",
        ...server
      }
      return Effect.succeed(decoded)
    }
  )

// A plain Schema.Union would try both shapes and report the failures of each (a missing "url" on a stdio
// server, a missing "command" on a remote one). Choosing the shape first keeps the report to the point.
const decodeServer = (
  server: { readonly [key: string]: unknown },
  options: SchemaAST.ParseOptions
): Effect.Effect<StdioServerConfig | RemoteServerConfig, SchemaIssue.Issue> => {
  if (server.type === "stdio") return decodeStdio(server, options)
  if (server.type === "http" || server.type === "streamable-http" || server.type === "sse") {
    return decodeRemote(server, options)
  }
  const hasCommand = "command" in server
  const hasUrl = "url" in server
  if (hasCommand && hasUrl) return fail(`a server has either "command" (stdio) or "url" (remote), not both`)
  if (hasCommand) return decodeStdio(server, options)
  if (hasUrl) return decodeRemote(server, options)
  return fail(`expected "command" (a stdio server) or "url" (a remote server)`)
}

/** One entry of `mcpServers`, the same shape desktop MCP clients use; tagged with `kind` once decoded. */
export const ServerConfig = Schema.Record(Schema.String, Schema.Unknown).annotate({ expected: "an object" }).pipe(
  Schema.decodeTo(Schema.Union([Schema.toType(StdioServerConfig), Schema.toType(RemoteServerConfig)]), {
    decode: SchemaGetter.transformEffect(decodeServer),
    encode: SchemaGetter.transform(({ kind: _kind, ...server }) => server)
  })
)
export type ServerConfig = typeof ServerConfig.Type

// --- clients ---------------------------------------------------------------------------------------

const Sha256Hex = Schema.String.check(
  Schema.isPattern(/^[0-9a-fA-F]{64}$/, { message: "must be 64 hexadecimal characters (a SHA-256 digest)" })
).pipe(Schema.decodeTo(Schema.String, {
  decode: SchemaGetter.transform((hex) => hex.toLowerCase()),
  encode: SchemaGetter.passthrough()
}))

/**
 * Who may connect and what they reach. Exactly one of `token`, `tokenSha256` (hex SHA-256 of the token)
 * or `anonymous: true` (ConfigRules.ts enforces it). `token` decodes to a `Redacted` so it never prints.
 */
export const ClientConfig = Schema.Struct({
  token: Schema.optionalKey(Schema.RedactedFromValue(NonEmptyString)),
  tokenSha256: Schema.optionalKey(Sha256Hex),
  anonymous: Schema.Boolean.pipe(withDefault(false)),
  /** Server ids this client may use, or "*" for all of them. */
  servers: Schema.Union([Schema.Literal("*"), Schema.Array(Schema.String)]).annotate({
    expected: `"*" or an array of server ids`
  }),
  deferredLoading: Schema.Boolean.pipe(withDefault(false)),
  /** "off" passes tool/prompt names through unchanged; only for a client allowed exactly one server. */
  namespacing: Schema.Literals(["on", "off"]).pipe(withDefault("on"))
})
export type ClientConfig = typeof ClientConfig.Type

// --- listen and streaming ---------------------------------------------------------------------------

export const ListenConfig = Schema.Struct({
  host: NonEmptyString.pipe(withDefault("127.0.0.1")),
  /** 0 picks a free port (tests). The `PORT` environment variable overrides it. */
  port: Port.pipe(withDefault(3625)),
  allowedOrigins: Schema.optionalKey(Schema.Array(NonEmptyString))
})
export type ListenConfig = typeof ListenConfig.Type

export const StreamingConfig = Schema.Struct({
  maxSessionsPerClient: PositiveInt.pipe(withDefault(5)),
  /** Idle time after which a session is closed. */
  sessionTimeoutSeconds: PositiveInt.pipe(withDefault(3600)),
  heartbeatIntervalSeconds: PositiveInt.pipe(withDefault(30)),
  /** Bound of a session's event queue and depth of its replay buffer. */
  maxPendingEvents: PositiveInt.pipe(withDefault(1000)),
  requestTimeoutSeconds: PositiveNumber.pipe(withDefault(60))
})
export type StreamingConfig = typeof StreamingConfig.Type

// --- the file --------------------------------------------------------------------------------------

export const Config = Schema.Struct({
  listen: ListenConfig.pipe(withDefault({})),
  mcpServers: Schema.Record(Schema.String, ServerConfig),
  clients: Schema.Record(Schema.String, ClientConfig),
  streaming: StreamingConfig.pipe(withDefault({}))
})
export type Config = typeof Config.Type

/** What a config file holds before decoding (defaults not yet applied, tokens as plain strings). */
export type ConfigFile = typeof Config.Encoded

/**
 * Parse options for decoding a config: report every problem, not only the first, and refuse keys the
 * schema does not know so a typo (`"streeming"`, `"comand"`) is an error rather than silently ignored.
 */
export const parseOptions: SchemaAST.ParseOptions = { errors: "all", onExcessProperty: "error" }
