import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Duration, Effect } from "effect"
import { HttpServerRequest } from "effect/http"

/**
 * A long-lived stream (SSE) whose socket accepts nothing for `idle` is closed: its client stopped reading (or
 * vanished without a word), and the bytes queued for it would otherwise be held until the socket died, long
 * after its session ended or another stream took over. A healthy stream writes at least every heartbeat, so
 * `idle` is a few heartbeats. The limit is lifted once the response is finished, for the connection's next
 * request. On a server that is not Node's, nothing is done.
 */
export const closeWhenStalled = (idle: Duration.Input) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.sync(() => {
      let response: ReturnType<typeof NodeHttpServerRequest.toServerResponse>
      try {
        response = NodeHttpServerRequest.toServerResponse(request)
      } catch {
        return
      }
      const socket = "socket" in response ? response.socket : undefined
      if (socket === null || socket === undefined) return
      socket.setTimeout(Duration.toMillis(Duration.fromInputUnsafe(idle)), () => socket.destroy())
      response.once("finish", () => socket.setTimeout(0))
    }))
