/**
 * Words of tool names, titles, descriptions and queries, in a form that matches across spellings: names split
 * on `_`, `-`, `.`, `/` and camelCase, lower-cased, common words dropped, endings stemmed, and a few everyday
 * synonyms folded into one word ("remove" and "delete", "ticket" and "issue") so that an agent's wording
 * finds a server's. Pure.
 */

const stopwords = new Set([
  "a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "with", "by", "from", "at", "as", "is", "are",
  "be", "it", "its", "this", "that", "these", "those", "my", "me", "i", "you", "your", "we", "our", "can",
  "will", "should", "would", "please", "into", "about", "all", "any", "some", "via", "using", "use", "if",
  "then", "than", "do", "does", "how", "what", "which", "who", "when", "where", "so", "up", "out", "new"
])

// Each group becomes its first word. Only near-synonyms as tools use them: a wrong merge costs precision.
const synonymGroups: ReadonlyArray<ReadonlyArray<string>> = [
  ["delet", "remov", "destroy", "eras", "drop", "trash"],
  ["get", "fetch", "retriev", "read", "obtain", "look", "show", "view", "load"],
  ["creat", "add", "make", "insert", "open", "start", "register"],
  ["list", "enumer", "brows", "all", "insid"],
  ["updat", "edit", "modifi", "chang", "set", "patch"],
  ["mov", "renam", "relocat"],
  ["send", "post", "publish", "deliv"],
  ["issu", "ticket", "bug"],
  ["messag", "msg", "chat"],
  ["search", "find", "queri", "lookup", "seek"],
  ["mail", "email", "gmail"],
  ["pr", "pull", "merg"],
  ["repo", "repositori", "project"],
  ["user", "member", "account", "person", "peopl"],
  ["file", "document", "doc"],
  ["folder", "directori", "dir"],
  ["calendar", "event", "meet", "appoint"],
  ["upload", "put"],
  ["download", "save"],
  ["weather", "rain", "snow", "forecast", "temperatur"],
  ["plan", "preview", "dry"],
  ["freebusi", "free", "busi", "availabl", "availabil"]
]
const synonyms = new Map(synonymGroups.flatMap((group) => group.map((word) => [word, group[0] as string] as const)))

/** A light suffix stemmer (a subset of Porter's rules), enough to meet "issues"/"issue", "listing"/"list". */
export const stem = (word: string): string => {
  if (word.length <= 3) return word
  let w = word
  if (w.endsWith("ies") && w.length > 4) w = w.slice(0, -3) + "i"
  else if (w.endsWith("sses")) w = w.slice(0, -2)
  else if (w.endsWith("s") && !w.endsWith("ss") && !w.endsWith("us")) w = w.slice(0, -1)
  if (w.endsWith("ing") && w.length > 5) w = w.slice(0, -3)
  else if (w.endsWith("ed") && w.length > 4) w = w.slice(0, -2)
  if (w.endsWith("ation") && w.length > 6) w = w.slice(0, -5)
  else if (w.endsWith("ment") && w.length > 6) w = w.slice(0, -4)
  if (w.endsWith("e") && w.length > 3) w = w.slice(0, -1)
  if (w.endsWith("y") && w.length > 3) w = w.slice(0, -1) + "i"
  // "getting" -> "gett" -> "get": a doubled final consonant left by -ing/-ed.
  if (w.length > 3 && w.at(-1) === w.at(-2) && !"lsz".includes(w.at(-1) ?? "")) w = w.slice(0, -1)
  return w
}

/** The terms of a text: split, lower-cased, stopwords dropped, stemmed, synonyms folded. */
export const terms = (text: string): Array<string> => {
  const out: Array<string> = []
  const spaced = text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2") // camelCase
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2") // HTTPServer
  for (const raw of spaced.toLowerCase().split(/[^a-z0-9]+/)) {
    if (raw.length < 2 || stopwords.has(raw)) continue
    const stemmed = stem(raw)
    out.push(synonyms.get(stemmed) ?? stemmed)
  }
  return out
}
