import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Result, Schema } from "effect"
import * as Namespacing from "../../src/protocol/Namespacing.ts"

// Any valid server id. Derived from the id alphabet and then repaired, because generating straight from the
// ServerId pattern (a lookahead) discards nearly every candidate.
const anyServerId = Arbitrary.schema(Schema.String.check(Schema.isPattern(/^[a-zA-Z0-9_-]+$/))).pipe(
  Arbitrary.map((s) => s.replace(/_+/g, "_").replace(/_$/, "x"))
)
// Short enough that a bounded name always exists (`joinBounded` needs serverId.length <= 64 - 11).
const boundableServerId = anyServerId.pipe(Arbitrary.map((s) => s.slice(0, 53).replace(/_$/, "x")))

describe("Namespacing.isServerId", () => {
  it("accepts letters, digits, _ and -", () => {
    for (const id of ["filesystem", "fs-2", "my_server", "_private", "A", "0", "-"]) {
      assert.isTrue(Namespacing.isServerId(id), id)
    }
  })

  it("refuses __, a trailing _, other characters and the empty string", () => {
    for (const id of ["a__b", "__", "a_", "_", "", "a b", "a.b", "a/b", "ä", "a\n"]) {
      assert.isFalse(Namespacing.isServerId(id), JSON.stringify(id))
    }
  })

  it("ServerId schema explains the rule", () => {
    const result = Schema.decodeUnknownResult(Namespacing.ServerId)("a__b")
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) assert.include(result.failure.message, "without \"__\"")
    assert.strictEqual(Schema.decodeUnknownSync(Namespacing.ServerId)("everything"), "everything")
  })
})

describe("Namespacing.split", () => {
  it("splits tool and method forms at the first __", () => {
    assert.deepStrictEqual(Namespacing.split("filesystem__read_file"), { serverId: "filesystem", name: "read_file" })
    assert.deepStrictEqual(Namespacing.split("filesystem__tools/call"), { serverId: "filesystem", name: "tools/call" })
    assert.deepStrictEqual(Namespacing.split("fs__a__b"), { serverId: "fs", name: "a__b" })
    assert.deepStrictEqual(Namespacing.split("fs___x"), { serverId: "fs", name: "_x" })
  })

  it("gives undefined when no server is named", () => {
    for (const s of ["read_file", "tools/call", "__x", "fs__", "", "__", "bad id__x", "a.b__x"]) {
      assert.isUndefined(Namespacing.split(s), JSON.stringify(s))
    }
  })

  it.prop(
    "split(join(serverId, name)) gives back both parts",
    { serverId: anyServerId, name: Schema.NonEmptyString },
    ({ serverId, name }) => {
      assert.isTrue(Namespacing.isServerId(serverId), serverId)
      assert.deepStrictEqual(Namespacing.split(Namespacing.join(serverId, name)), { serverId, name })
    }
  )
})

describe("Namespacing.joinBounded", () => {
  it("is the plain join when it fits, up to exactly 64 characters", () => {
    assert.strictEqual(Namespacing.joinBounded("fs", "read_file"), "fs__read_file")
    const name = "n".repeat(60)
    assert.strictEqual(Namespacing.joinBounded("fs", name), `fs__${name}`)
    assert.strictEqual(Namespacing.joinBounded("fs", name)?.length, 64)
  })

  it("shortens to server__<prefix>_<fnv1a32 hex> of exactly the limit", () => {
    const name = "n".repeat(61)
    const bounded = Namespacing.joinBounded("fs", name)
    const hash = Namespacing.fnv1a32(name).toString(16).padStart(8, "0")
    assert.strictEqual(bounded, `fs__${"n".repeat(51)}_${hash}`)
    assert.strictEqual(bounded?.length, 64)
    assert.strictEqual(Namespacing.joinBounded("fs", name, 30)?.length, 30)
  })

  it("never cuts a surrogate pair in half", () => {
    // 51 characters of room for the prefix: the 51st code unit is the first half of "😀".
    const name = `${"a".repeat(50)}😀${"b".repeat(20)}`
    const bounded = Namespacing.joinBounded("fs", name)
    assert.isDefined(bounded)
    assert.isTrue((bounded?.length ?? 0) <= 64)
    assert.strictEqual(bounded?.slice(0, 54 + 1), `fs__${"a".repeat(50)}_`)
    assert.notMatch(bounded ?? "", /[\ud800-\udfff]/)
  })

  it("gives undefined only when the server id leaves no room", () => {
    assert.isDefined(Namespacing.joinBounded("s".repeat(53), "x".repeat(20)))
    assert.isUndefined(Namespacing.joinBounded("s".repeat(54), "x".repeat(20)))
    // A name that fits needs no room for a hash.
    assert.strictEqual(Namespacing.joinBounded("s".repeat(60), "xy"), `${"s".repeat(60)}__xy`)
  })

  it.prop(
    "never exceeds 64, is deterministic, and still names its server",
    {
      serverId: boundableServerId,
      name: Schema.NonEmptyString,
      padding: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 100 }))
    },
    ({ serverId, name, padding }) => {
      const long = name + "x".repeat(padding)
      const bounded = Namespacing.joinBounded(serverId, long)
      if (bounded === undefined) return assert.fail(`no bounded name for ${serverId}`)
      assert.isAtMost(bounded.length, 64)
      assert.strictEqual(Namespacing.joinBounded(serverId, long), bounded)
      assert.strictEqual(Namespacing.split(bounded)?.serverId, serverId)
      if (Namespacing.join(serverId, long).length <= 64) assert.strictEqual(bounded, Namespacing.join(serverId, long))
    }
  )

  it.prop(
    "distinct long names with the same prefix get distinct bounded names",
    { serverId: boundableServerId, a: Schema.String, b: Schema.String },
    ({ serverId, a, b }) => {
      if (a === b) return
      const prefix = "shared_prefix_".repeat(5)
      const first = Namespacing.joinBounded(serverId, prefix + a)
      const second = Namespacing.joinBounded(serverId, prefix + b)
      assert.notStrictEqual(first, second)
    }
  )
})

describe("Namespacing.fnv1a32", () => {
  it("matches the published FNV-1a 32-bit test vectors", () => {
    assert.strictEqual(Namespacing.fnv1a32(""), 0x811c9dc5)
    assert.strictEqual(Namespacing.fnv1a32("a"), 0xe40c292c)
    assert.strictEqual(Namespacing.fnv1a32("foobar"), 0xbf9cf968)
  })

  it("keeps names with different lone surrogates apart (found by the property test)", () => {
    assert.notStrictEqual(Namespacing.fnv1a32("\ud800"), Namespacing.fnv1a32("\ud801"))
    const prefix = "shared_prefix_".repeat(5)
    assert.notStrictEqual(Namespacing.joinBounded("-", prefix + "\ud800"), Namespacing.joinBounded("-", prefix + "\ud801"))
  })

  it("hashes UTF-8 bytes", () => {
    // "é" is the two bytes C3 A9 in UTF-8.
    const byHand = [0xc3, 0xa9].reduce((hash, byte) => Math.imul(hash ^ byte, 0x01000193) >>> 0, 0x811c9dc5)
    assert.strictEqual(Namespacing.fnv1a32("é"), byHand)
  })
})

describe("Namespacing.boundedNames", () => {
  it("maps every exposed name back to the backend's own name", () => {
    const long = "very_long_tool_name_".repeat(4)
    const names = ["read_file", `${long}one`, `${long}two`]
    const { toOriginal, dropped } = Namespacing.boundedNames("fs", names)
    assert.deepStrictEqual(dropped, [])
    assert.strictEqual(toOriginal.size, 3)
    for (const name of names) {
      const exposed = Namespacing.joinBounded("fs", name)
      if (exposed === undefined) return assert.fail(name)
      assert.strictEqual(toOriginal.get(exposed), name)
      assert.strictEqual(toOriginal.get(Namespacing.join("fs", Namespacing.split(exposed)?.name ?? "")), name)
    }
  })

  it("lets a real name win over a shortened one that collides with it, whatever the order", () => {
    const long = "z".repeat(80)
    const shortened = Namespacing.joinBounded("fs", long)
    const real = Namespacing.split(shortened ?? "")?.name
    if (real === undefined) return assert.fail("no short form")
    const { toOriginal, dropped } = Namespacing.boundedNames("fs", [long, real, real])
    assert.strictEqual(toOriginal.get(Namespacing.join("fs", real)), real)
    assert.deepStrictEqual(dropped, [long])
  })

  it("drops names that cannot be bounded", () => {
    const serverId = "s".repeat(60)
    const { toOriginal, dropped } = Namespacing.boundedNames(serverId, ["ok", "x".repeat(10)])
    assert.deepStrictEqual([...toOriginal.values()], ["ok"])
    assert.deepStrictEqual(dropped, ["x".repeat(10)])
  })
})
