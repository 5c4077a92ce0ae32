import type { PriorDiscovery } from "@modelcontextprotocol/client"
import { Clock, Context, Duration, Effect, Layer, Ref } from "effect"

interface Entry {
  readonly checkedAt: number
}

/**
 * Remembers which servers answered only the legacy handshake, so a restart skips the `server/discover`
 * probe (one round trip and, on some servers, a wasted process).
 *
 * Only legacy verdicts are kept, each with its date: a server upgraded to the modern era still answers
 * `initialize`, so a legacy verdict would otherwise "succeed silently forever" (the SDK's gateway guide).
 * After `maxAge` the server is probed again. Modern servers are never cached: their handshake *is* the
 * `server/discover` call, whose fresh capabilities the gateway wants anyway.
 */
export class EraCache extends Context.Service<EraCache, {
  readonly prior: (serverId: string) => Effect.Effect<PriorDiscovery | undefined>
  readonly record: (serverId: string, verdict: PriorDiscovery) => Effect.Effect<void>
}>()("mcp-gateway/backend/EraCache") {
  static readonly make = (maxAge: Duration.Input) =>
    Effect.gen(function*() {
      const maxAgeMillis = Duration.toMillis(Duration.fromInputUnsafe(maxAge))
      const entries = yield* Ref.make(new Map<string, Entry>())
      return EraCache.of({
        prior: (serverId) =>
          Effect.gen(function*() {
            const entry = (yield* Ref.get(entries)).get(serverId)
            if (entry === undefined) return undefined
            const fresh = (yield* Clock.currentTimeMillis) - entry.checkedAt < maxAgeMillis
            return fresh ? { kind: "legacy" } : undefined
          }),
        record: (serverId, verdict) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Ref.update(entries, (map) => {
              const next = new Map(map)
              if (verdict.kind === "legacy") next.set(serverId, { checkedAt: now })
              else next.delete(serverId)
              return next
            }))
      })
    })

  static readonly layer = (maxAge: Duration.Input = "1 hour") => Layer.effect(EraCache, EraCache.make(maxAge))
}
