import type { RunDetail, Scalar } from '../languageClient/protocol'
import { formatBytes, formatDuration, formatValue } from '../util/format'

/** The elements of the Run view: groups of one run's facts, each fact a leaf. */
export type RunDetailNode =
  | { kind: 'group'; id: string; label: string; icon: string; children: RunDetailNode[] }
  | { kind: 'value'; id: string; label: string; value: string; tooltip?: string }
  | { kind: 'file'; id: string; repo: string; run: string; path: string; status: string }
  | { kind: 'artifact'; id: string; path: string; size: number; sha256: string }

const values = (run: string, group: string, entries: Record<string, Scalar>): RunDetailNode[] =>
  Object.keys(entries)
    .sort()
    .map(key => ({
      kind: 'value',
      id: `${run}:${group}:${key}`,
      label: key,
      value: formatValue(entries[key])
    }))

const FILE_STATUS: Record<string, string> = { A: 'added', M: 'modified', D: 'deleted' }

export const fileStatusLabel = (status: string): string => FILE_STATUS[status] ?? status

/** Groups in reading order; empty groups are left out. */
export const collectRunDetail = (repo: string, detail: RunDetail): RunDetailNode[] => {
  const id = detail.run
  const info: [string, string | undefined][] = [
    ['status', detail.status + (detail.exit_code !== null && detail.exit_code !== undefined ? ` (exit ${detail.exit_code})` : '')],
    ['command', detail.command],
    ['created', detail.created ?? undefined],
    ['duration', formatDuration(detail.duration)],
    ['host', detail.host ?? undefined],
    ['gpus', detail.gpus && detail.gpus.length > 0 ? detail.gpus.map(String).join(', ') : undefined],
    ['commit', detail.commit],
    ['snapshot', detail.snapshot],
    ['base commit', detail.base_commit ?? undefined]
  ]
  const groups: RunDetailNode[] = [
    {
      kind: 'group',
      id: `${id}:info`,
      label: 'Run',
      icon: 'info',
      children: info
        .filter((entry): entry is [string, string] => Boolean(entry[1]))
        .map(([label, value]) => ({ kind: 'value', id: `${id}:info:${label}`, label, value, tooltip: value }))
    },
    {
      kind: 'group',
      id: `${id}:params`,
      label: `Params (${Object.keys(detail.params).length})`,
      icon: 'symbol-parameter',
      children: values(id, 'params', detail.params)
    },
    {
      kind: 'group',
      id: `${id}:metrics`,
      label: `Metrics (${Object.keys(detail.metrics).length})`,
      icon: 'graph-line',
      children: values(id, 'metrics', detail.metrics)
    },
    {
      kind: 'group',
      id: `${id}:artifacts`,
      label: `Artifacts (${detail.artifacts.length})`,
      icon: 'package',
      children: detail.artifacts.map(artifact => ({
        kind: 'artifact',
        id: `${id}:artifact:${artifact.path}`,
        path: artifact.path,
        size: artifact.size,
        sha256: artifact.sha256
      }))
    },
    {
      kind: 'group',
      id: `${id}:files`,
      label: `Changed files (${detail.files.length})`,
      icon: 'diff',
      children: detail.files.map(file => ({
        kind: 'file',
        id: `${id}:file:${file.path}`,
        repo,
        run: id,
        path: file.path,
        status: file.status
      }))
    }
  ]
  return groups.filter(group => group.kind === 'group' && group.children.length > 0)
}

export const artifactDescription = (size: number): string => formatBytes(size)
