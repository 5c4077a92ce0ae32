import { assert, describe, it } from "@effect/vitest"
import * as Tokenizer from "../../src/search/Tokenizer.ts"

describe("Tokenizer", () => {
  it("splits names in every style tools use", () => {
    assert.deepStrictEqual(Tokenizer.terms("create_issue"), Tokenizer.terms("create issue"))
    assert.deepStrictEqual(Tokenizer.terms("list-pull-requests"), Tokenizer.terms("list pull requests"))
    assert.deepStrictEqual(Tokenizer.terms("getUserProfile"), Tokenizer.terms("get user profile"))
    assert.deepStrictEqual(Tokenizer.terms("files.upload"), Tokenizer.terms("files upload"))
    assert.deepStrictEqual(Tokenizer.terms("HTTPServerStatus"), Tokenizer.terms("http server status"))
  })

  it("meets different endings and everyday synonyms in one term", () => {
    assert.deepStrictEqual(Tokenizer.terms("issues"), Tokenizer.terms("issue"))
    assert.deepStrictEqual(Tokenizer.terms("listing"), Tokenizer.terms("list"))
    assert.deepStrictEqual(Tokenizer.terms("remove"), Tokenizer.terms("delete"))
    assert.deepStrictEqual(Tokenizer.terms("ticket"), Tokenizer.terms("issue"))
    assert.deepStrictEqual(Tokenizer.terms("fetching"), Tokenizer.terms("get"))
  })

  it("drops common words", () => {
    assert.deepStrictEqual(Tokenizer.terms("the a of to"), [])
  })
})
