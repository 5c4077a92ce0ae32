import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { type Browser, chromium, type Page } from "playwright-core"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { gatewayLayer, serverUrl } from "../support/GatewayHttp.ts"

const chromiumPath = "/usr/bin/chromium"
const hasChromium = existsSync(chromiumPath)
if (!hasChromium) {
  console.warn(`test/demo/Demo.test.ts is skipped: no Chromium at ${chromiumPath} (.ci/run installs Debian's chromium)`)
}

/** Where the run's screenshot is kept (gitignored), for a person to look at. */
const screenshotPath = fileURLToPath(new URL("../../test-artifacts/demo.png", import.meta.url))

const token = "demo-page-token-0123456789"
const config: ConfigFile = {
  mcpServers: { everything: { command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"] } },
  clients: { tester: { token, servers: "*" } },
  streaming: { requestTimeoutSeconds: 20 }
}

const baseUrl = Effect.map(serverUrl(), (url) => url.origin)

/**
 * Headless Chromium for the length of the test, closed at the end whatever happens. Without the background
 * networking flags Chromium tries to reach Google's services, and on a closed network its connections are refused.
 */
const launchBrowser = Effect.acquireRelease(
  Effect.promise(() =>
    chromium.launch({
      executablePath: chromiumPath,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync"
      ]
    })
  ),
  (browser: Browser) => Effect.promise(() => browser.close())
)

/** Runs one step in the page; a step that throws fails the test with Playwright's message. */
const step = <A>(run: () => Promise<A>) => Effect.promise(run)

/** The first log entry of an SSE event of this name whose text matches. */
const logged = (page: Page, event: string, text: string | RegExp) =>
  page.locator(`#log li.ev-${event}`).filter({ hasText: text }).first()

const timeout = 20_000

const browserSuite = "the demo page in headless Chromium"

layer(gatewayLayer(config), { timeout: 90_000, excludeTestServices: true })(browserSuite, (it) => {
  it.effect.skipIf(!hasChromium)(
    "connects with a token, opens a session, calls everything__echo, broadcasts tools/list, answers a sampling request",
    () =>
      Effect.gen(function*() {
        const origin = yield* baseUrl
        const browser = yield* launchBrowser
        const page = yield* step(() => browser.newPage({ viewport: { width: 1400, height: 1000 } }))
        // Whatever the page reports as an error (a CSP violation, an exception), and every URL it loads.
        const problems: Array<string> = []
        const loaded: Array<string> = []
        page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`))
        page.on("console", (message) => {
          if (message.type() === "error") problems.push(`console: ${message.text()}`)
        })
        page.on("request", (request) => loaded.push(request.url()))

        const response = yield* step(() => page.goto(`${origin}/demo`))
        assert.strictEqual(response?.status(), 200)
        assert.include(response?.headers()["content-security-policy"] ?? "", "script-src 'self'")

        yield* step(async () => {
          await page.fill("#token", token)
          await page.click("#connect")
          await page.click("#create-session", { timeout })
          await page.locator("#close:enabled").waitFor({ timeout })
        })
        assert.include(yield* step(() => page.textContent("#session-info")), "everything")
        // After the first session the servers are offered as checkboxes.
        assert.isTrue(yield* step(() => page.isChecked("#server-choices input[value=everything]")))

        // The preset's defaults: everything__echo with {"message":"hello"}.
        yield* step(async () => {
          await page.click("#preset-echo")
          await logged(page, "response", "Echo: hello").waitFor({ timeout })
        })

        // A broadcast: the merged answer (server_id null) lists the tools namespaced.
        yield* step(async () => {
          await page.click("#preset-list")
          await logged(page, "response", /"server_id":null.*"everything__echo"/).waitFor({ timeout })
        })

        // A backend asks the page: the request shows in a form, and the typed answer goes back to the tool.
        yield* step(async () => {
          await page.fill("#tool", "everything__trigger-sampling-request")
          await page.fill("#tool-args", JSON.stringify({ prompt: "hello", maxTokens: 5 }))
          await page.click("#preset-echo")
          const ask = page.locator("#asks .ask").first()
          await ask.waitFor({ timeout })
          assert.include(await ask.textContent(), "sampling/createMessage")
          await ask.locator("textarea.answer").fill("a sampled reply")
          await ask.locator("button.respond").click()
          await logged(page, "response", "a sampled reply").waitFor({ timeout })
          await page.locator("#asks .ask").waitFor({ state: "detached", timeout })
        })

        const stats = yield* step(() =>
          page.evaluate(() =>
            Object.fromEntries(
              ["stat-events", "stat-inflight", "stat-last", "stat-avg"].map((id) => [
                id,
                document.getElementById(id)?.textContent ?? ""
              ])
            )
          )
        )
        assert.isAbove(Number(stats["stat-events"]), 0)
        assert.strictEqual(stats["stat-inflight"], "0")
        assert.match(stats["stat-last"] ?? "", /ms$/)
        assert.match(stats["stat-avg"] ?? "", /ms$/)

        yield* step(() => page.screenshot({ path: screenshotPath }))

        yield* step(async () => {
          await page.click("#close")
          await logged(page, "closed", `"reason":"client"`).waitFor({ timeout })
          await page.locator("#create-session:enabled").waitFor({ timeout })
        })

        assert.deepStrictEqual(problems, [])
        const elsewhere = loaded.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith("data:"))
        assert.deepStrictEqual(elsewhere, [], "the page loads nothing but the gateway's own URLs")
      }),
    60_000
  )
})
