import { createHash } from "node:crypto"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Logger } from "effect"
import { HttpClient, HttpRouter } from "effect/http"
import { DemoBuildFailed } from "../../src/demo/DemoErrors.ts"
import * as DemoRoutes from "../../src/demo/DemoRoutes.ts"

const serve = (routes: Layer.Layer<never, never, HttpRouter.HttpRouter>) =>
  HttpRouter.serve(routes, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layerTest)
  )

const get = (path: string) =>
  Effect.gen(function*() {
    const response = yield* HttpClient.get(path)
    return { status: response.status, headers: response.headers, body: yield* response.text }
  }).pipe(Effect.orDie)

describe("DemoRoutes", () => {
  layer(serve(DemoRoutes.DemoRoutes), { timeout: 60_000 })("with the real bundle", (it) => {
    it.effect("GET /demo is the page, under a CSP that admits its own script and its inline style only", () =>
      Effect.gen(function*() {
        const page = yield* get("/demo")
        assert.strictEqual(page.status, 200)
        assert.match(page.headers["content-type"] ?? "", /^text\/html/)
        assert.include(page.body, `<script type="module" src="/demo/app.js"></script>`)
        const csp = page.headers["content-security-policy"] ?? ""
        assert.include(csp, "default-src 'none'")
        assert.include(csp, "script-src 'self'")
        assert.notInclude(csp, "unsafe-inline")
        // The style's hash in the CSP is that of the style the page carries (else the browser drops it).
        const style = /<style>([\s\S]*?)<\/style>/.exec(page.body)?.[1] ?? ""
        assert.include(csp, `style-src 'sha256-${createHash("sha256").update(style).digest("base64")}'`)
        assert.notMatch(page.body, /https?:\/\//, "nothing loads from elsewhere")
      }))

    it.effect("GET /demo/app.js is the bundled script: one ES module with the client library inside", () =>
      Effect.gen(function*() {
        const script = yield* get("/demo/app.js")
        assert.strictEqual(script.status, 200)
        assert.match(script.headers["content-type"] ?? "", /^text\/javascript/)
        assert.include(script.body, "/gateway/stream")
        assert.notMatch(script.body, /^\s*import\b/m, "every import is bundled")
        assert.strictEqual((yield* get("/demo/app.js")).body, script.body)
      }))
  })

  let builds = 0
  const logged: Array<unknown> = []
  // Fails its first build, then succeeds: the failure must not be kept, the success must be.
  const flaky = Effect.suspend(() => {
    builds++
    return builds === 1
      ? Effect.fail(new DemoBuildFailed({ detail: "src/demo/DemoApp.ts:1:1: ERROR: Unexpected end of file" }))
      : Effect.succeed(`export const build = ${builds}`)
  })
  const capture = Logger.layer([Logger.make(({ message }) => logged.push(message))])

  layer(serve(DemoRoutes.make(flaky)).pipe(Layer.provide(capture)))("with a build that fails once", (it) => {
    it.effect("a failed build answers 503 in the error body and is logged; the next request builds again", () =>
      Effect.gen(function*() {
        const failed = yield* get("/demo/app.js")
        assert.strictEqual(failed.status, 503)
        assert.deepStrictEqual(JSON.parse(failed.body), {
          error: { code: "demo_unavailable", message: new DemoBuildFailed({ detail: "" }).message }
        })
        assert.notInclude(failed.body, "DemoApp.ts", "esbuild's report stays in the log")
        assert.include(JSON.stringify(logged), "Unexpected end of file")

        const [first, second] = [yield* get("/demo/app.js"), yield* get("/demo/app.js")]
        assert.strictEqual(first.status, 200)
        assert.strictEqual(first.body, "export const build = 2")
        assert.strictEqual(second.body, first.body)
        assert.strictEqual(builds, 2, "built once after the failure, then served from memory")
      }))
  })
})
