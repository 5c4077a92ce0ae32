import { Schema } from "effect"

/**
 * The demo page's script could not be bundled (a syntax error in `src/demo/`, esbuild missing or failing to start).
 * `detail` is esbuild's report, for the log only: it names files and lines of the gateway's source, so the client
 * gets the message alone.
 */
export class DemoBuildFailed extends Schema.TaggedError<DemoBuildFailed>()("DemoBuildFailed", {
  detail: Schema.String
}) {
  override get message() {
    return "the demo page's script could not be built; the gateway's log has the details"
  }
}
