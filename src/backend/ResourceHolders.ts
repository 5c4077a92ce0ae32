/**
 * Who holds each resource subscription on one backend. Sessions sharing a backend share its subscription to a
 * URI: the first holder must send `resources/subscribe`, the last one to let go `resources/unsubscribe`, and
 * every call says whether this caller is that one. Synchronous, owned by its backend.
 */
export const make = () => {
  const holders = new Map<string, Set<string>>()
  const release = (uri: string, owner: string): boolean => {
    const set = holders.get(uri)
    if (set === undefined || !set.delete(owner)) return false
    if (set.size > 0) return false
    holders.delete(uri)
    return true
  }
  return {
    /** True when `owner` is the first holder (it must subscribe at the backend). */
    acquire: (uri: string, owner: string): boolean => {
      const set = holders.get(uri) ?? new Set<string>()
      const first = set.size === 0
      set.add(owner)
      holders.set(uri, set)
      return first
    },
    /** True when `owner` was the last holder (it must unsubscribe at the backend). */
    release,
    /** The URIs some session holds: a new connection must subscribe to them again. */
    held: (): ReadonlyArray<string> => [...holders.keys()],
    /** Lets go of everything `owner` held; the URIs it was the last holder of. */
    releaseAll: (owner: string): ReadonlyArray<string> => [...holders.keys()].filter((uri) => release(uri, owner))
  }
}

export type ResourceHolders = ReturnType<typeof make>
