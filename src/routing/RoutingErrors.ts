import { Schema } from "effect"

/** The server is unknown or not allowed for this client: the same error either way, so nothing leaks. */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { serverId: Schema.String }) {
  override get message() {
    return `server "${this.serverId}" is not available to this client`
  }
}

/** The message names no server, and is not one the gateway broadcasts. */
export class AmbiguousMethod extends Schema.TaggedError<AmbiguousMethod>()("AmbiguousMethod", {
  method: Schema.String
}) {
  override get message() {
    return `"${this.method}" names no server: use "<server>__${this.method}", or for tools/call and prompts/get ` +
      `a namespaced name ("<server>__<name>"); tools/list, resources/list, resources/templates/list and ` +
      `prompts/list go to every server`
  }
}
