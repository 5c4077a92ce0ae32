/**
 * Builds the client library's published shape: `dist/client/index.js` (one ESM file, no dependencies, for Node
 * >= 20 and browsers) and its declarations (`dist/client/*.d.ts`), which `package.json` exports as
 * `<package>/client`. `npm run build:client [outDir]`.
 */
import { execFileSync } from "node:child_process"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import * as esbuild from "esbuild"

const root = fileURLToPath(new URL("..", import.meta.url))

export const buildClient = async (outDir = join(root, "dist", "client")) => {
  await esbuild.build({
    entryPoints: [join(root, "src", "client", "index.ts")],
    outfile: join(outDir, "index.js"),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    sourcemap: true,
    logLevel: "warning"
  })
  // Declarations from the TypeScript compiler, for the library's files only (its own project settings).
  const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc")
  execFileSync(process.execPath, [
    tsc,
    "--ignoreConfig",
    "--declaration",
    "--emitDeclarationOnly",
    "--rewriteRelativeImportExtensions",
    "--allowImportingTsExtensions",
    "--target", "es2022",
    "--module", "nodenext",
    "--moduleResolution", "nodenext",
    "--lib", "es2022,dom",
    "--types", "",
    "--strict",
    "--skipLibCheck",
    "--rootDir", join(root, "src", "client"),
    "--outDir", outDir,
    join(root, "src", "client", "index.ts")
  ], { stdio: "inherit" })
  // The declarations keep the sources' `./x.ts` specifiers; published, they name the `.js` files beside them.
  for (const file of readdirSync(outDir).filter((name) => name.endsWith(".d.ts"))) {
    const path = join(outDir, file)
    writeFileSync(path, readFileSync(path, "utf8").replace(/(from "\.\/[^"]+)\.ts"/g, '$1.js"'))
  }
  return outDir
}

if (import.meta.main) {
  const outDir = await buildClient(process.argv[2] === undefined ? undefined : resolve(process.argv[2]))
  console.log(`client built in ${outDir}`)
}
