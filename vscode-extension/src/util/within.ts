/**
 * What `promise` gives within `ms`, as `{ value }`; undefined if it takes longer (the timer is
 * cleared either way). A rejection within the time is the caller's, as with the promise itself.
 */
export const within = async <T>(promise: Promise<T>, ms: number): Promise<{ value: T } | undefined> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<undefined>(resolve => (timer = setTimeout(() => resolve(undefined), ms)))
  try {
    return await Promise.race([promise.then(value => ({ value })), late])
  } finally {
    clearTimeout(timer)
  }
}
