import { execFile } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { build } from "esbuild"

// The client ships to browsers and to Node >= 20 with nothing else installed: it may import only itself.
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const clientDir = join(root, "src/client")
const sources = readdirSync(clientDir).filter((file) => file.endsWith(".ts"))

const specifiers = (source: string): Array<string> =>
  [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)].map((match) => match[1]!)

describe("the client library's dependencies", () => {
  it("every import of src/client is a relative path inside src/client", () => {
    assert.isAbove(sources.length, 0)
    for (const file of sources) {
      for (const specifier of specifiers(readFileSync(join(clientDir, file), "utf8"))) {
        assert.match(specifier, /^\.\//, `${file} imports ${specifier}`)
        const target = relative(clientDir, resolve(clientDir, specifier))
        assert.notMatch(target, /^\.\.|[/\\]/, `${file} imports ${specifier}, outside src/client`)
      }
    }
  })

  it("bundles for the browser from src/client alone, with no Effect, SDK or Node built-in in it", async () => {
    const result = await build({
      entryPoints: [join(clientDir, "index.ts")],
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      target: "es2022",
      metafile: true,
      logLevel: "silent"
    })
    const inputs = Object.keys(result.metafile.inputs)
    assert.isAbove(inputs.length, 0)
    for (const input of inputs) assert.match(input, /^src\/client\/[A-Za-z]+\.ts$/, input)
    const code = result.outputFiles[0]!.text
    assert.notInclude(code, "effect/")
    assert.notInclude(code, "@modelcontextprotocol")
    assert.notMatch(code, /\bnode:|\brequire\(|\bprocess\.|\bBuffer\b/)
  })

  it("type-checks with the ES2022 and DOM libraries alone (no Node types)", async () => {
    const tsc = join(root, "node_modules/typescript/bin/tsc")
    const args = [
      tsc, "--ignoreConfig", "--noEmit", "--strict", "--exactOptionalPropertyTypes", "--noUnusedLocals",
      "--noUnusedParameters", "--noImplicitOverride", "--verbatimModuleSyntax", "--erasableSyntaxOnly",
      "--allowImportingTsExtensions", "--target", "ES2022", "--module", "NodeNext", "--moduleResolution", "NodeNext",
      "--lib", "ES2022,DOM", "--types", "", join(clientDir, "index.ts")
    ]
    const output = await new Promise<string>((done) => {
      execFile(process.execPath, args, { cwd: root, timeout: 60_000 }, (error, stdout, stderr) =>
        done(error === null ? "" : `${error.message}\n${stdout}${stderr}`))
    })
    assert.strictEqual(output, "")
  }, 60_000)
})
