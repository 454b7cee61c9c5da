/**
 * Which keys to preselect in the dashboard: the sort key and configured key metric first,
 * then the rest in server order, at most `max` of them.
 */
export const defaultKeys = (keys: string[], preferred: string[], max = 4): string[] => {
  const first = preferred.filter(key => keys.includes(key))
  return [...new Set([...first, ...keys])].slice(0, max)
}
