import type { Series } from '../languageClient/protocol'

export interface Line {
  run: string
  points: { x: number; y: number }[]
}

export interface Chart {
  key: string
  lines: Line[]
}

/** The message the plot webview renders: one chart per chosen key, one line per run. */
export interface PlotData {
  title: string
  runs: string[]
  keys: string[]
  selected: string[]
  charts: Chart[]
}

/**
 * Group `gitexp/series` by key, in the server's key order, keeping runs in the order the
 * user selected them (so colours are stable) and points sorted by step.
 */
export const collectCharts = (runs: string[], keys: string[], series: Series[]): Chart[] =>
  keys.map(key => ({
    key,
    lines: runs
      .map(run => series.find(item => item.run === run && item.key === key))
      .filter((item): item is Series => item !== undefined && item.points.length > 0)
      .map(item => ({
        run: item.run,
        points: [...item.points]
          .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
          .sort((a, b) => a[0] - b[0])
          .map(([x, y]) => ({ x, y }))
      }))
  }))

/**
 * Which keys to preselect in the picker: the sort key and configured key metric first,
 * then the rest in server order, at most `max` of them.
 */
export const defaultKeys = (keys: string[], preferred: string[], max = 4): string[] => {
  const first = preferred.filter(key => keys.includes(key))
  return [...new Set([...first, ...keys])].slice(0, max)
}
