import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import * as esbuild from "esbuild"
import { DemoBuildFailed } from "./DemoErrors.ts"

/** The page's script: DOM code over the client library (`src/client`), bundled into one ES module. */
export const entryPoint: string = fileURLToPath(new URL("./DemoApp.ts", import.meta.url))

const describe = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

/**
 * Bundles `entryPoint` in memory (nothing is written to disk) into the text of one ES module for evergreen
 * browsers. Every import is bundled: the page loads nothing from anywhere but `/demo/app.js` (its CSP allows
 * nothing else).
 */
export const build: Effect.Effect<string, DemoBuildFailed> = Effect.tryPromise({
  try: () =>
    esbuild.build({
      entryPoints: [entryPoint],
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      legalComments: "none",
      charset: "utf8",
      // esbuild would print its errors to stderr itself; the route logs them once, through Effect's logger.
      logLevel: "silent"
    }),
  catch: (cause) => new DemoBuildFailed({ detail: describe(cause) })
}).pipe(
  Effect.flatMap((result) => {
    const output = result.outputFiles[0]
    return output === undefined
      ? Effect.fail(new DemoBuildFailed({ detail: "esbuild produced no output file" }))
      : Effect.succeed(output.text)
  })
)

/**
 * Ends esbuild's service process, which the first build starts and keeps for later ones. Node would end it when
 * the gateway's process exits; stopping it with the routes leaves nothing behind a gateway that closes in a process
 * that goes on (a test). A later build starts it again.
 */
export const stop: Effect.Effect<void> = Effect.promise(() => esbuild.stop())
