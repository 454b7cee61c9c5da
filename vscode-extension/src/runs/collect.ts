import type { RunSummary, Scalar, SweepSummary } from '../languageClient/protocol'
import { formatDuration, formatValue, markdownCell } from '../util/format'

/** The elements of the Runs view. Plain data: tree items are built from them in items.ts. */
export type RunsNode =
  | { kind: 'repo'; id: string; repo: string; name: string }
  | { kind: 'sweep'; id: string; repo: string; sweep: SweepSummary }
  | { kind: 'run'; id: string; repo: string; run: RunSummary; keyMetric?: string }
  | { kind: 'more'; id: string; repo: string; sweep: string; loaded: number; total: number }
  | { kind: 'message'; id: string; repo?: string; text: string; error: boolean; detail?: string }

export type RunNode = Extract<RunsNode, { kind: 'run' }>

export interface Page {
  runs: RunSummary[]
  total: number
}

export interface ViewState {
  filter: string
  sort: string
  descending: boolean
  keyMetric: string
}

export const LIVE_STATUSES = new Set(['queued', 'running'])

export const collectRepoNodes = (repos: { root: string; name: string }[]): RunsNode[] =>
  repos.map(({ root, name }) => ({ kind: 'repo', id: `repo:${root}`, repo: root, name }))

/**
 * Sweeps and their run counts from `git for-each-ref --format=%(refname) refs/experiments/`
 * (one ref per run, `refs/experiments/<sweep>/<run>`): what the Runs view shows while the
 * language server is still starting (Python's imports and the first index build take seconds
 * at 10k runs; this listing takes milliseconds). Running counts are unknown (0) until then.
 */
export const sweepsFromRefs = (listing: string): SweepSummary[] => {
  const counts = new Map<string, number>()
  for (const line of listing.split('\n')) {
    const parts = line.trim().split('/')
    if (parts.length === 4 && parts[0] === 'refs' && parts[1] === 'experiments' && parts[2] && parts[3]) {
      counts.set(parts[2], (counts.get(parts[2]) ?? 0) + 1)
    }
  }
  return [...counts].map(([sweep, runs]) => ({ sweep, runs, running: 0 }))
}

export const collectSweepNodes = (
  repo: string,
  sweeps: SweepSummary[],
  filter: string
): RunsNode[] => {
  if (sweeps.length === 0) {
    return [
      {
        kind: 'message',
        id: `message:${repo}:empty`,
        repo,
        text: filter ? `No runs match "${filter}"` : 'No runs yet: run a sweep with "gitexp run"',
        error: false
      }
    ]
  }
  const shown = sweeps.filter(sweep => !filter || sweep.matching === undefined || sweep.matching > 0)
  if (shown.length === 0) {
    return collectSweepNodes(repo, [], filter)
  }
  return [...shown]
    .sort((a, b) => a.sweep.localeCompare(b.sweep))
    .map(sweep => ({ kind: 'sweep', id: `sweep:${repo}:${sweep.sweep}`, repo, sweep }))
}

/**
 * The metric a run shows as its description: the configured one, else the sort key when
 * it is a metric (so the column being sorted is visible), else the first metric by name.
 */
export const chooseKeyMetric = (run: RunSummary, state: ViewState): string | undefined => {
  for (const key of [state.keyMetric, state.sort]) {
    if (key && key in run.metrics) {
      return key
    }
  }
  return Object.keys(run.metrics).sort()[0]
}

export const collectRunNodes = (
  repo: string,
  sweep: string,
  page: Page,
  state: ViewState
): RunsNode[] => {
  const nodes: RunsNode[] = page.runs.map(run => ({
    kind: 'run',
    id: `run:${repo}:${run.run}`,
    repo,
    run,
    keyMetric: chooseKeyMetric(run, state)
  }))
  if (page.runs.length < page.total) {
    nodes.push({
      kind: 'more',
      id: `more:${repo}:${sweep}`,
      repo,
      sweep,
      loaded: page.runs.length,
      total: page.total
    })
  }
  if (nodes.length === 0) {
    nodes.push({
      kind: 'message',
      id: `message:${repo}:${sweep}:empty`,
      repo,
      text: state.filter ? `No runs match "${state.filter}"` : 'No runs',
      error: false
    })
  }
  return nodes
}

export const describeRun = (run: RunSummary, keyMetric: string | undefined): string => {
  const parts: string[] = []
  if (keyMetric !== undefined) {
    parts.push(`${keyMetric} ${formatValue(run.metrics[keyMetric])}`)
  }
  if (LIVE_STATUSES.has(run.status)) {
    parts.push(run.status)
  } else if (run.duration !== undefined && run.duration !== null) {
    parts.push(formatDuration(run.duration))
  }
  return parts.join(' · ')
}

const table = (title: string, values: Record<string, Scalar>): string[] => {
  const keys = Object.keys(values).sort()
  if (keys.length === 0) {
    return []
  }
  return [
    '',
    `| ${title} | value |`,
    '|---|---|',
    ...keys.map(key => `| ${markdownCell(key)} | ${markdownCell(formatValue(values[key]))} |`)
  ]
}

/** Markdown tooltip: id, status, timing, origin, then the params and metrics tables. */
export const runTooltip = (run: RunSummary): string =>
  [
    `**${markdownCell(run.run)}** · ${run.status}`,
    '',
    [
      run.created ? `created ${run.created}` : '',
      run.duration ? formatDuration(run.duration) : '',
      run.origin ? `pulled from ${markdownCell(run.origin)}` : ''
    ]
      .filter(Boolean)
      .join(' · '),
    ...table('param', run.params),
    ...table('metric', run.metrics)
  ].join('\n')

/** Every key a user may sort by: creation time, then param and metric names seen so far. */
export const collectSortKeys = (runs: Iterable<RunSummary>): string[] => {
  const keys = new Set<string>()
  for (const run of runs) {
    for (const key of Object.keys(run.metrics)) {
      keys.add(key)
    }
    for (const key of Object.keys(run.params)) {
      keys.add(key)
    }
  }
  return ['created', ...[...keys].filter(key => key !== 'created').sort()]
}

export const describeView = (state: ViewState): string => {
  const sort = state.sort === 'created' ? '' : `sorted by ${state.sort} ${state.descending ? '↓' : '↑'}`
  const filter = state.filter ? `filter "${state.filter}"` : ''
  return [filter, sort].filter(Boolean).join(' · ')
}

/** Runs named by a command invoked on the view: the multi-selection when the clicked run is in it. */
export const selectedRuns = (clicked: unknown, selection: unknown): RunNode[] => {
  const isRun = (node: unknown): node is RunNode =>
    typeof node === 'object' && node !== null && (node as RunsNode).kind === 'run'
  const selected = Array.isArray(selection) ? selection.filter(isRun) : []
  if (isRun(clicked)) {
    return selected.some(node => node.id === clicked.id) ? selected : [clicked]
  }
  return selected
}
