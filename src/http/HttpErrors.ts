import { Schema, SchemaIssue } from "effect"
import { formatPath } from "../config/ConfigErrors.ts"

/**
 * No usable bearer token: none was sent and no client is anonymous, the header is malformed, or the token
 * matches no client. One message for every case, so a caller learns nothing about which clients exist.
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {}) {
  override get message() {
    return "a valid bearer token is required"
  }
}

/**
 * Refused before anything else, against DNS rebinding: a `Host` that is not this machine (the gateway listens only on
 * loopback), or an `Origin` that may not call it. `reason` says which.
 */
export class RequestRefused extends Schema.TaggedError<RequestRefused>()("RequestRefused", { reason: Schema.String }) {
  override get message() {
    return this.reason
  }
}

/** The request body is not JSON. `detail` says why, without quoting the body back. */
export class InvalidJson extends Schema.TaggedError<InvalidJson>()("InvalidJson", { detail: Schema.String }) {
  override get message() {
    return `the request body is not valid JSON: ${this.detail}`
  }
}

/** One thing wrong with a request, located by a path such as `servers[0]` ("" for the whole value). */
export const RequestProblem = Schema.Struct({ path: Schema.String, message: Schema.String })
export type RequestProblem = typeof RequestProblem.Type

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** An answer names this many problems at most (a body can have thousands). */
const maxListedProblems = 20

/**
 * The request is JSON (or a path, a query) of the wrong shape. The message names each field that is
 * wrong and why: `invalid request: servers[0]: Expected string`. Build it from a Schema failure with
 * `fromSchemaError` or `fromIssue`.
 */

export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  problems: Schema.Array(RequestProblem)
}) {
  override get message() {
    const problems = this.problems.slice(0, maxListedProblems).map((problem) =>
      problem.path === "" ? problem.message : `${problem.path}: ${problem.message}`
    )
    const more = this.problems.length - problems.length
    return `invalid request: ${problems.join("; ")}${more > 0 ? `; and ${more} more` : ""}`
  }

  /** One problem per leaf issue, its path rendered as `servers[0]` (as config problems are). */
  static fromIssue(issue: SchemaIssue.Issue): InvalidRequest {
    const problems = formatter(issue).issues.map((problem) => {
      const keys = (problem.path ?? []).map((segment) => typeof segment === "object" ? segment.key : segment)
      return { path: formatPath(keys), message: problem.message }
    })
    return new InvalidRequest({ problems })
  }

  static fromSchemaError(error: Schema.SchemaError): InvalidRequest {
    return InvalidRequest.fromIssue(error.issue)
  }
}

/** The request body is larger than the route accepts. */
export class BodyTooLarge extends Schema.TaggedError<BodyTooLarge>()("BodyTooLarge", { limit: Schema.Number }) {
  override get message() {
    return `the request body is larger than the limit of ${this.limit} bytes`
  }
}

/** No route for this method and path. */
export class RouteNotFound extends Schema.TaggedError<RouteNotFound>()("RouteNotFound", {
  method: Schema.String,
  path: Schema.String
}) {
  override get message() {
    return `no route for ${this.method} ${this.path}`
  }
}
