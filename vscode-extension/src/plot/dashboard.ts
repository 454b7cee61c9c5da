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
  series: PlotSeries[]
  /** keys to show first (the user's pick, or the table's sort key) */
  selected: string[]
  live: boolean
  /** images the runs logged, per run and tag (empty when none) */
  images: RunImages[]
}

/**
 * One curve as it travels to the dashboard: columns of typed arrays. VS Code posts typed
 * arrays to a webview as binary buffers; an array of [step, value, time] triples goes as
 * JSON, is parsed and structured-cloned point by point (100 runs x 1,000 points: 3.9 MB of
 * JSON, most of a first draw's non-chart time).
 */
export interface PlotSeries {
  run: string
  key: string
  steps: Float64Array
  values: Float64Array
  /** seconds since the epoch per point (NaN where unknown); absent when no point has one */
  times?: Float64Array
}

/** A server curve as typed columns, thinned to what a chart can show (see `thin`). */
export const packSeries = (series: Series, most = MAX_POINTS): PlotSeries => {
  const points = thin(series.points, most)
  const steps = new Float64Array(points.length)
  const values = new Float64Array(points.length)
  const times = new Float64Array(points.length)
  let timed = false
  points.forEach((point, index) => {
    steps[index] = point[0]
    values[index] = point[1]
    const time = point[2]
    timed ||= typeof time === 'number'
    times[index] = typeof time === 'number' ? time : Number.NaN
  })
  return timed ? { run: series.run, key: series.key, steps, values, times } : { run: series.run, key: series.key, steps, values }
}

/** Where each curve lies in `PackedCurves.data`: steps, values, then times when `timed`. */
export interface CurveIndex {
  run: string
  key: string
  at: number
  count: number
  timed: boolean
}

/**
 * Every curve of a message in one Float64Array: one binary buffer to post (a buffer per
 * column, 300 for 100 runs, did not all arrive in code-server's webviews), read back as
 * views into it without a copy.
 */
export interface PackedCurves {
  data: Float64Array
  index: CurveIndex[]
}

/** What the extension posts: the dashboard's data with its curves packed. */
export type DashboardMessage = Omit<DashboardData, 'series'> & { curves: PackedCurves }

export const packCurves = (series: PlotSeries[]): PackedCurves => {
  const size = series.reduce((sum, item) => sum + item.steps.length * (item.times ? 3 : 2), 0)
  const data = new Float64Array(size)
  const index: CurveIndex[] = []
  let at = 0
  for (const item of series) {
    const count = item.steps.length
    index.push({ run: item.run, key: item.key, at, count, timed: item.times !== undefined })
    data.set(item.steps, at)
    data.set(item.values, at + count)
    if (item.times) {
      data.set(item.times, at + 2 * count)
    }
    at += count * (item.times ? 3 : 2)
  }
  return { data, index }
}

export const unpackCurves = ({ data, index }: PackedCurves): PlotSeries[] =>
  index.map(({ run, key, at, count, timed }) => {
    const steps = data.subarray(at, at + count)
    const values = data.subarray(at + count, at + 2 * count)
    return timed ? { run, key, steps, values, times: data.subarray(at + 2 * count, at + 3 * count) } : { run, key, steps, values }
  })

export const toMessage = ({ series, ...rest }: DashboardData): DashboardMessage => ({ ...rest, curves: packCurves(series) })

export const fromMessage = ({ curves, ...rest }: DashboardMessage): DashboardData => ({ ...rest, series: unpackCurves(curves) })

/**
 * A curve as ECharts takes it fastest: one flat array x0, y0, x1, y1, ... (setOption
 * deep-clones arrays of pairs). x is the step, or the seconds since the curve's first point
 * (points without a time are left out); points that are not finite are left out; y is
 * smoothed, and NaN (a gap) where a log axis cannot show it.
 */
export const curveXY = (series: PlotSeries, x: 'step' | 'time', log: boolean, weight: number): Float64Array => {
  const xs = x === 'step' ? series.steps : series.times
  if (!xs) {
    return new Float64Array(0)
  }
  const kept: number[] = []
  for (let index = 0; index < xs.length; index++) {
    if (Number.isFinite(xs[index]) && Number.isFinite(series.values[index]) && Number.isFinite(series.steps[index])) {
      kept.push(index)
    }
  }
  if (kept.some((at, index) => index > 0 && xs[at] < xs[kept[index - 1]])) {
    kept.sort((a, b) => xs[a] - xs[b])
  }
  const ys = smooth(kept.map(at => series.values[at]), weight)
  const origin = x === 'time' && kept.length ? xs[kept[0]] : 0
  const flat = new Float64Array(kept.length * 2)
  kept.forEach((at, index) => {
    flat[2 * index] = xs[at] - origin
    flat[2 * index + 1] = log && ys[index] <= 0 ? Number.NaN : ys[index]
  })
  return flat
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
