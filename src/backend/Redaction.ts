import type * as Connection from "./Connection.ts"

/**
 * Removes secrets from text a backend prints (its stderr) before the gateway logs it.
 *
 * The secrets are the values the gateway itself handed to the backend (its `env`, its HTTP `headers`),
 * plus anything shaped like a bearer token. Short values are skipped: replacing "1" or "true" everywhere
 * would garble every line and protect nothing.
 */
export const redactor = (secretValues: Iterable<string>): ((text: string) => string) => {
  const secrets = [...new Set(secretValues)].filter((value) => value.length >= 6).sort((a, b) => b.length - a.length)
  return (text) => {
    let out = text
    for (const secret of secrets) out = out.split(secret).join("[redacted]")
    return out.replace(/(bearer\s+)[A-Za-z0-9._~+/=-]{6,}/gi, "$1[redacted]")
  }
}

/** Values the gateway hands the backend that must never be logged or shown: env values, header values. */
export const secretsOf = (endpoint: Connection.Endpoint): ReadonlyArray<string> => {
  if (endpoint.kind === "stdio") return Object.values(endpoint.env)
  const url = new URL(endpoint.url)
  // A query may hold keys: redacted whole, and each value both as written (percent-encoded, as error messages quote
  // the URL) and decoded.
  const written = url.search.slice(1).split("&").map((pair) => pair.slice(pair.indexOf("=") + 1))
  return [
    ...Object.values(endpoint.headers).flatMap((value) => [value, ...value.split(/\s+/)]),
    url.username,
    url.password,
    url.search,
    ...written,
    ...url.searchParams.values()
  ]
}
