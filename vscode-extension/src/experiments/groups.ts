/**
 * Group rows of the experiments table, by sweep. AG Grid Community has no row grouping (an
 * Enterprise feature), so the grid gets one extra row per sweep in its own row data and we
 * place it: AG Grid sorts and filters every row as usual (keeping its virtualisation), then
 * `arrange` puts each sweep's header row first with that sweep's rows under it in the order
 * AG Grid sorted them. A collapsed sweep's rows are filtered out, its header stays.
 * Pure: no `vscode`, no DOM; the webview wires it to AG Grid's callbacks.
 */
import type { Scalar, TableRow } from '../languageClient/protocol'
import { cellValue, columnId, compareValues } from './values'

/** What a grid row holds: a run (with its cells by column id, read once) or a sweep's header. */
export interface GridRow {
  id: string
  sweep: string
  row?: TableRow
  group?: GroupSummary
  cells: Record<string, Scalar | undefined>
}

export interface GroupSummary {
  sweep: string
  runs: number
  running: number
  /** the best value of `metric` among the sweep's runs, and which run has it */
  metric?: string
  best?: { run: string; value: number }
}

/** The grid id of a sweep's header row: run ids always hold a '/', these never do. */
export const groupId = (sweep: string): string => `group:${sweep}`

export const FIXED_COLUMNS = ['run', 'sweep', 'name', 'status', 'created', 'started', 'ended', 'duration', 'exit_code', 'origin']

/** A run as a grid row: every cell looked up once here, so sorting reads a plain property. */
export const gridRow = (row: TableRow): GridRow => {
  const cells: Record<string, Scalar | undefined> = {}
  for (const id of FIXED_COLUMNS) {
    cells[id] = cellValue(row, id)
  }
  for (const [key, value] of Object.entries(row.params)) {
    cells[columnId({ kind: 'param', key })] = value
  }
  for (const [key, value] of Object.entries(row.metrics)) {
    cells[columnId({ kind: 'metric', key })] = value
  }
  for (const [key, value] of Object.entries(row.tags)) {
    cells[columnId({ kind: 'tag', key })] = value
  }
  return { id: row.run, sweep: row.sweep, row, cells }
}

/** Names like loss, error or time are minimised; others (acc, bleu, reward) maximised. */
export const lowerIsBetter = (metric: string): boolean => /loss|err|time|wer|cer|perplex|ppl|mse|mae|rmse|latency|regret/i.test(metric)

/** One header row per sweep in `rows`: how many runs, how many going, the best `metric`. */
export const summarise = (rows: Iterable<TableRow>, metric: string | undefined): Map<string, GroupSummary> => {
  const groups = new Map<string, GroupSummary>()
  const lower = metric ? lowerIsBetter(metric) : false
  for (const row of rows) {
    let group = groups.get(row.sweep)
    if (!group) {
      group = { sweep: row.sweep, runs: 0, running: 0, metric }
      groups.set(row.sweep, group)
    }
    group.runs++
    if (row.status === 'running' || row.status === 'queued') {
      group.running++
    }
    const value = metric === undefined ? undefined : row.metrics[metric]
    if (typeof value === 'number' && Number.isFinite(value)) {
      if (!group.best || (lower ? value < group.best.value : value > group.best.value)) {
        group.best = { run: row.run, value }
      }
    }
  }
  return groups
}

export const groupRow = (group: GroupSummary): GridRow => ({ id: groupId(group.sweep), sweep: group.sweep, group, cells: { sweep: group.sweep } })

/**
 * The display order with groups: each sweep's header, then its rows in the order given
 * (AG Grid's sort), sweeps by name (`descending` when the sweep column sorts that way).
 * Headers of sweeps with no row left after filtering are dropped, unless collapsed (their
 * rows were filtered out on purpose). Returns how many rows of each sweep are shown.
 */
export const arrange = <T extends { data?: GridRow }>(
  nodes: T[],
  collapsed: ReadonlySet<string>,
  descending = false
): { order: T[]; shown: Map<string, number> } => {
  const headers = new Map<string, T>()
  const members = new Map<string, T[]>()
  for (const node of nodes) {
    const data = node.data
    if (!data) {
      continue
    }
    if (data.group) {
      headers.set(data.sweep, node)
    } else {
      const list = members.get(data.sweep)
      if (list) {
        list.push(node)
      } else {
        members.set(data.sweep, [node])
      }
    }
  }
  const sweeps = [...new Set([...headers.keys(), ...members.keys()])].sort(
    (a, b) => (descending ? -1 : 1) * compareValues(a, b)
  )
  const order: T[] = []
  const shown = new Map<string, number>()
  for (const sweep of sweeps) {
    const header = headers.get(sweep)
    const list = members.get(sweep) ?? []
    shown.set(sweep, list.length)
    if (header && (list.length > 0 || collapsed.has(sweep))) {
      order.push(header)
    }
    order.push(...list)
  }
  return { order, shown }
}

/** The header's text: `▾ sweep3 · 1000 runs (12 shown) · 2 running · best acc 0.991 (sweep3/run17)`. */
export const groupLabel = (group: GroupSummary, collapsed: boolean, shown: number | undefined, format: (value: number) => string): string => {
  const parts = [`${collapsed ? '▸' : '▾'} ${group.sweep}`, `${group.runs} run${group.runs === 1 ? '' : 's'}${!collapsed && shown !== undefined && shown !== group.runs ? ` (${shown} shown)` : ''}`]
  if (group.running) {
    parts.push(`${group.running} running`)
  }
  if (group.best && group.metric) {
    parts.push(`best ${group.metric} ${format(group.best.value)} (${group.best.run})`)
  }
  return parts.join(' · ')
}
