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
  points: [number, number][]
}

export interface SeriesResult {
  series: Series[]
  keys: string[]
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
  kill: 'gitexp/kill',
  delete: 'gitexp/delete',
  runsChanged: 'gitexp/runsChanged'
} as const

/** Server commands (`workspace/executeCommand`) that the sweep code lenses invoke. */
export const ServerCommand = {
  runSweep: 'gitexp.runSweep',
  dryRun: 'gitexp.dryRun'
} as const
