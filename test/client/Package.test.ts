import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { buildClient } from "../../scripts/build-client.ts"

const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  exports: Record<string, { types: string; import: string }>
}

/** The machine's own Node (20 here), if there is one: the published client must run on Node >= 20. */
const systemNode = ["/usr/bin/node", "/usr/local/bin/node"].find((path) => existsSync(path))

describe("the client's published shape (<package>/client)", () => {
  it("builds to one dependency-free ESM file with declarations, and loads on the machine's own Node", async () => {
    const outDir = mkdtempSync(join(tmpdir(), "gateway-client-"))
    try {
      await buildClient(outDir)
      assert.deepStrictEqual(packageJson.exports["./client"], { types: "./dist/client/index.d.ts", import: "./dist/client/index.js" })
      const bundle = readFileSync(join(outDir, "index.js"), "utf8")
      assert.notMatch(bundle, /^import\s/m, "no imports: everything is in the one file")
      assert.notMatch(bundle, /from\s+"(effect|@modelcontextprotocol|node:)/)
      const declarations = readdirSync(outDir).filter((name) => name.endsWith(".d.ts"))
      assert.include(declarations, "index.d.ts")
      for (const file of declarations) {
        assert.notMatch(readFileSync(join(outDir, file), "utf8"), /from "\.\/[^"]+\.ts"/, `${file} names .js files`)
      }
      const node = systemNode ?? process.execPath
      const exported = execFileSync(node, [
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(join(outDir, "index.js"))}); console.log(Object.keys(m).sort().join(","))`
      ]).toString().trim().split(",")
      for (const name of ["GatewayClient", "GatewaySession", "SseParser", "namespaced", "parseNamespaced", "BROADCAST_METHODS"]) {
        assert.include(exported, name, `exported on ${execFileSync(node, ["--version"]).toString().trim()}`)
      }
    } finally {
      rmSync(outDir, { recursive: true, force: true })
    }
  }, 60_000)
})
