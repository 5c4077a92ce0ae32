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

/** Query parameter names whose values are credentials. */
const secretName = /key|token|secret|sig|auth|pass|session|credential/i

const safeDecode = (text: string) => {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "))
  } catch {
    return text
  }
}

/** Values the gateway hands the backend that must never be logged or shown: env values, header values, URL keys. */
export const secretsOf = (endpoint: Connection.Endpoint): ReadonlyArray<string> => {
  if (endpoint.kind === "stdio") return Object.values(endpoint.env)
  const url = new URL(endpoint.url)
  // A query may hold keys: redacted whole, and each value that looks like one (a secret-sounding name, or long) both
  // as written (percent-encoded, as error messages quote the URL) and decoded. `?version=2025-03-26` is left alone.
  const pairs = url.search.slice(1).split("&").flatMap((pair) => {
    const at = pair.indexOf("=")
    return at === -1 ? [] : [{ name: pair.slice(0, at), written: pair.slice(at + 1) }]
  })
  const queryValues = pairs
    .filter(({ name, written }) => secretName.test(name) || written.length >= 16)
    .flatMap(({ written }) => [written, safeDecode(written)])
  return [
    // A header value whole, and the credentials after an auth scheme ("Bearer <token>"), not the scheme's name.
    ...Object.values(endpoint.headers).flatMap((value) => [value, ...value.split(/\s+/).slice(1)]),
    url.username,
    url.password,
    url.search,
    ...queryValues
  ]
}
