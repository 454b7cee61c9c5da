/**
 * Pure parts of the plots dashboard, shared by the extension and its webview: the data
 * message, smoothing, colours and which params are worth an axis. No `vscode`, no DOM.
 */
import type { RunImages, Scalar, Series } from '../languageClient/protocol'

export interface PlotRun {
  run: string
  status: string
  params: Record<string, Scalar>
  metrics: Record<string, Scalar>
}

/** What the extension posts to the dashboard (again on every live update). */
export interface DashboardData {
  title: string
  runs: PlotRun[]
  keys: string[]
  series: Series[]
  /** keys to show first (the user's pick, or the table's sort key) */
  selected: string[]
  live: boolean
  /** images the runs logged, per run and tag (empty when none) */
  images: RunImages[]
}

export type DashboardToExtension =
  | { type: 'ready' }
  | { type: 'brush'; runs: string[] | null }

/**
 * TensorBoard's smoothing: an exponential moving average, debiased so the first points are
 * not pulled towards zero. `weight` 0 returns the values unchanged.
 */
export const smooth = (values: number[], weight: number): number[] => {
  if (weight <= 0) {
    return values
  }
  let last = 0
  let count = 0
  return values.map(value => {
    if (!Number.isFinite(value)) {
      return value
    }
    last = last * weight + (1 - weight) * value
    count++
    return last / (1 - Math.pow(weight, count))
  })
}

/** The tags of `images`, and for each the steps any run logged (ascending), for one slider per tag. */
export const imageTags = (images: RunImages[]): Map<string, number[]> => {
  const tags = new Map<string, Set<number>>()
  for (const item of images) {
    const steps = tags.get(item.tag) ?? new Set<number>()
    item.steps.forEach(step => steps.add(step.step))
    tags.set(item.tag, steps)
  }
  return new Map([...tags].sort(([a], [b]) => a.localeCompare(b)).map(([tag, steps]) => [tag, [...steps].sort((a, b) => a - b)]))
}

/** The image a run shows at slider step `step`: its last one logged at or before it, else its first. */
export const imageAt = <T extends { step: number }>(steps: T[], step: number): T | undefined => {
  let found: T | undefined
  for (const item of steps) {
    if (item.step <= step && (!found || item.step >= found.step)) {
      found = item
    }
  }
  return found ?? steps[0]
}

/** Points per curve sent to the dashboard: more than a chart's width in pixels can show. */
export const MAX_POINTS = 2000

/**
 * At most about `most` points of a curve (in step order), keeping its shape: the range is cut
 * into buckets and each keeps its first point and its lowest and highest values, so spikes
 * survive (unlike every-nth sampling). Curves already short enough come back unchanged.
 */
export const thin = <P extends [number, number, ...unknown[]]>(points: P[], most = MAX_POINTS): P[] => {
  if (points.length <= most) {
    return points
  }
  const buckets = Math.max(1, Math.floor(most / 3))
  const size = points.length / buckets
  const kept: P[] = []
  for (let bucket = 0; bucket < buckets; bucket++) {
    const start = Math.floor(bucket * size)
    const end = Math.min(points.length, Math.floor((bucket + 1) * size))
    let low = start
    let high = start
    for (let index = start; index < end; index++) {
      if (points[index][1] < points[low][1]) low = index
      if (points[index][1] > points[high][1]) high = index
    }
    for (const index of [...new Set([start, low, high])].sort((a, b) => a - b)) {
      kept.push(points[index])
    }
  }
  const last = points[points.length - 1]
  if (kept[kept.length - 1] !== last) {
    kept.push(last)
  }
  return kept
}

/** Distinct colours for any number of runs: hues spread by the golden angle. */
export const runColour = (index: number): string =>
  `hsl(${Math.round((index * 137.508) % 360)}, 65%, ${index % 2 ? 62 : 52}%)`

/** A colour on a perceptual ramp (a short viridis-like palette) for t in [0, 1]. */
const RAMP = ['#440154', '#414487', '#2a788e', '#22a884', '#7ad151', '#fde725']
export const rampColour = (t: number): string => RAMP[Math.max(0, Math.min(RAMP.length - 1, Math.round(t * (RAMP.length - 1))))]

/**
 * The colour of each run when colouring by `param`: a ramp over its numeric range, or one
 * colour per distinct value otherwise; runs without the param are grey.
 */
export const coloursByParam = (runs: PlotRun[], param: string | undefined): Map<string, string> => {
  const colours = new Map<string, string>()
  if (!param) {
    runs.forEach((run, index) => colours.set(run.run, runColour(index)))
    return colours
  }
  const values = runs.map(run => run.params[param])
  const numbers = values.filter((value): value is number => typeof value === 'number' && Number.isFinite(value))
  if (numbers.length === values.filter(value => value !== undefined && value !== null).length && numbers.length > 0) {
    const min = Math.min(...numbers)
    const max = Math.max(...numbers)
    const log = min > 0 && max / min > 100
    const scale = (value: number): number =>
      max === min ? 0.5 : log ? Math.log(value / min) / Math.log(max / min) : (value - min) / (max - min)
    runs.forEach((run, index) => {
      const value = values[index]
      colours.set(run.run, typeof value === 'number' ? rampColour(scale(value)) : '#888')
    })
    return colours
  }
  const distinct = [...new Set(values.map(value => String(value)))]
  runs.forEach((run, index) =>
    colours.set(run.run, values[index] === undefined ? '#888' : runColour(distinct.indexOf(String(values[index]))))
  )
  return colours
}

/** Params that differ between the runs (the ones worth a parallel axis or a colour). */
export const varyingParams = (runs: PlotRun[]): string[] => {
  const keys = new Set<string>()
  runs.forEach(run => Object.keys(run.params).forEach(key => keys.add(key)))
  return [...keys]
    .filter(key => new Set(runs.map(run => JSON.stringify(run.params[key] ?? null))).size > 1)
    .sort()
}

/** The tooltip text of a run: its id, then its params (those that vary first). */
export const describeRun = (run: PlotRun, varying: string[]): string => {
  const keys = [...varying, ...Object.keys(run.params).filter(key => !varying.includes(key))].slice(0, 12)
  return [run.run, ...keys.map(key => `${key}=${String(run.params[key])}`)].join('\n')
}
