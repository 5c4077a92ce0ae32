import type { JSONRPCResponse } from "@modelcontextprotocol/client"
import { Effect } from "effect"
import type { BackendError } from "../backend/BackendErrors.ts"

/** One question of an `input_required` result, as the client is asked it. */
export interface Question {
  readonly key: string
  readonly method: string
  readonly params: Record<string, unknown> | undefined
}

/**
 * One round of a modern-era (2026-07-28) multi-round-trip call: the backend answered `input_required` with
 * `inputRequests` (elicitation, sampling, roots) and an opaque `requestState`. The session asks its client each
 * question as a `request` event; once every answer is in, `retry` sends the call again with `inputResponses`
 * and the `requestState` exactly as it came. The client sees the same protocol whatever era the backend speaks.
 */
export const open = (
  result: Record<string, unknown>,
  retry: (inputResponses: Record<string, unknown>, requestState: unknown) => Effect.Effect<void>
) => {
  const requests = result["inputRequests"]
  const questions: Array<Question> = typeof requests === "object" && requests !== null
    ? Object.entries(requests as Record<string, unknown>).flatMap(([key, request]) => {
      if (typeof request !== "object" || request === null) return []
      const { method, params } = request as { method?: unknown; params?: unknown }
      return typeof method === "string"
        ? [{ key, method, params: typeof params === "object" && params !== null ? params as Record<string, unknown> : undefined }]
        : []
    })
    : []
  const answers: Record<string, unknown> = {}
  let sent = false
  return {
    questions,
    /** The client's answer to one question; the last one sends the call again. */
    answer: (key: string, response: JSONRPCResponse): Effect.Effect<void, BackendError> =>
      Effect.suspend(() => {
        // A refusal is an answer too (the backend decides what a declined question means).
        answers[key] = "result" in response ? response.result : { action: "decline" }
        if (sent || questions.some((question) => !(question.key in answers))) return Effect.void
        sent = true
        return retry(answers, result["requestState"])
      })
  }
}
