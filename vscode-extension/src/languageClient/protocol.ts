/**
 * Types and method names of the gitexp language server's custom protocol.
 * Mirrors lsp/PROTOCOL.md, the contract with the server: change both together.
 */

export type Scalar = number | string | boolean | null

export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'lost' | 'pruned'

export interface RunSummary {
  run: string
  sweep: string
  name: string
  status: RunStatus | string
  created?: string | null
  started?: string | null
  ended?: string | null
  duration?: number | null
  /** the remote a pulled run came from; null for runs made here */
  origin?: string | null
  params: Record<string, Scalar>
  metrics: Record<string, Scalar>
}

export interface SweepSummary {
  sweep: string
  runs: number
  running: number
  /** with a `filter`: how many of its runs match it */
  matching?: number
}

export interface RunsParams {
  filter?: string
  sweep?: string
  sort?: string
  descending?: boolean
  offset?: number
  limit?: number
}

export interface RunsResult {
  total: number
  offset: number
  runs: RunSummary[]
  sweeps: SweepSummary[]
}

export interface ChangedFile {
  path: string
  status: string
}

export interface Artifact {
  path: string
  size: number
  sha256: string
}

export interface RunDetail extends RunSummary {
  command: string
  exit_code?: number | null
  host?: string | null
  gpus?: unknown[]
  commit: string
  snapshot: string
  base_commit?: string | null
  files: ChangedFile[]
  artifacts: Artifact[]
  /** for a failed run: the first line of its output that reads like an error */
  error?: string | null
  record?: Record<string, unknown>
}

export interface KeyComparison {
  key: string
  a: Scalar | undefined
  b: Scalar | undefined
  changed: boolean
}

export interface DiffResult {
  a: string
  b: string
  snapshot_a: string
  snapshot_b: string
  params: KeyComparison[]
  metrics: KeyComparison[]
  files: (ChangedFile & { patch?: string })[]
}

export interface FileResult {
  exists: boolean
  content?: string
  commit?: string
}

export interface QueryResult {
  columns: string[]
  rows: Scalar[][]
  truncated: boolean
}

export interface Series {
  run: string
  key: string
  /** [step, value], or [step, value, time] (seconds since the epoch) when asked `time: true` */
  points: [number, number, number?][]
}

export interface SeriesResult {
  series: Series[]
  keys: string[]
}

/**
 * `gitexp/series` with `packed: true`: the curves as float64 columns in one base64 string of
 * little-endian doubles (see lsp/PROTOCOL.md). A server that predates it answers `SeriesResult`.
 */
export interface PackedSeriesResult {
  curves: { run: string; key: string; at: number; count: number; timed: boolean }[]
  keys: string[]
  data: string
}

/** One step of a logged image: a data URI (null past the answer's byte budget). */
export interface ImageStep {
  step: number
  time: number
  width: number
  height: number
  bytes: number
  uri: string | null
}

/** The images one run logged under one tag (logx `add_image`, TensorBoard image summaries). */
export interface RunImages {
  run: string
  tag: string
  /** how many steps were logged (`steps` holds at most `maxSteps` of them, evenly spread) */
  logged: number
  steps: ImageStep[]
}

export interface ImagesResult {
  images: RunImages[]
  truncated: boolean
}

export type TableColumnKind = 'param' | 'metric' | 'tag'

/** A column of the experiments table: one per param, summary metric and tag seen in any run. */
export interface TableColumn {
  kind: TableColumnKind
  key: string
  /** DuckDB's type across runs: BIGINT, DOUBLE, BOOLEAN or VARCHAR (mixed or text) */
  type: string
}

export interface TableRow {
  run: string
  sweep: string
  name: string
  status: string
  created?: string | null
  started?: string | null
  ended?: string | null
  duration?: number | null
  exit_code?: number | null
  origin?: string | null
  params: Record<string, Scalar>
  metrics: Record<string, Scalar>
  tags: Record<string, Scalar>
}

export interface TableParams {
  /** a SQL condition over the `runs` view (`lr > 0.01 and status = 'completed'`) */
  where?: string
  /** only these runs (a live update); the answer is O(len(runs)) */
  runs?: string[]
  offset?: number
  limit?: number
}

export interface TableResult {
  total: number
  offset: number
  columns: TableColumn[]
  rows: TableRow[]
}

export interface TagParams {
  runs: string[]
  /** name -> value to set (true for a bare name) */
  set?: Record<string, Scalar>
  /** names to remove */
  remove?: string[]
}

export interface BatchResult {
  done: string[]
  errors: { run: string; message: string }[]
}

export interface RunsChanged {
  runs: string[]
}

export interface ExecuteResult {
  command: string
}

export const Method = {
  runs: 'gitexp/runs',
  run: 'gitexp/run',
  diff: 'gitexp/diff',
  file: 'gitexp/file',
  query: 'gitexp/query',
  series: 'gitexp/series',
  images: 'gitexp/images',
  kill: 'gitexp/kill',
  delete: 'gitexp/delete',
  table: 'gitexp/table',
  tag: 'gitexp/tag',
  runsChanged: 'gitexp/runsChanged'
} as const

/** Server commands (`workspace/executeCommand`) that the sweep code lenses invoke. */
export const ServerCommand = {
  runSweep: 'gitexp.runSweep',
  dryRun: 'gitexp.dryRun'
} as const
