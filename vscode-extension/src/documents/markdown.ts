import type { DiffResult, KeyComparison, RunDetail, Scalar } from '../languageClient/protocol'
import { formatBytes, formatDuration, formatValue, markdownCell } from '../util/format'

const cell = (value: Scalar | undefined): string =>
  value === undefined ? '—' : markdownCell(formatValue(value))

const keyValueTable = (title: string, values: Record<string, Scalar>): string[] => {
  const keys = Object.keys(values).sort()
  if (keys.length === 0) {
    return [`## ${title}`, '', '_none_', '']
  }
  return [
    `## ${title}`,
    '',
    '| name | value |',
    '|---|---|',
    ...keys.map(key => `| ${markdownCell(key)} | ${cell(values[key])} |`),
    ''
  ]
}

/** `show run` as a Markdown document: what ran, with which code, config and results. */
export const renderRunMarkdown = (run: RunDetail): string => {
  const facts: [string, string | undefined][] = [
    ['status', run.status],
    ['command', run.command ? `\`${run.command.replace(/`/g, "'")}\`` : undefined],
    ['exit code', run.exit_code === null || run.exit_code === undefined ? undefined : String(run.exit_code)],
    ['created', run.created ?? undefined],
    ['started', run.started ?? undefined],
    ['ended', run.ended ?? undefined],
    ['duration', formatDuration(run.duration) || undefined],
    ['host', run.host ?? undefined],
    ['gpus', run.gpus && run.gpus.length ? run.gpus.map(String).join(', ') : undefined],
    ['run commit', run.commit],
    ['code snapshot', run.snapshot],
    ['base commit', run.base_commit ?? undefined]
  ]
  const lines = [
    `# ${run.run}`,
    '',
    '| | |',
    '|---|---|',
    ...facts
      .filter((fact): fact is [string, string] => Boolean(fact[1]))
      .map(([name, value]) => `| ${name} | ${name === 'command' ? value : markdownCell(value)} |`),
    '',
    ...keyValueTable('Params', run.params),
    ...keyValueTable('Metrics', run.metrics),
    '## Changed files',
    ''
  ]
  if (run.files.length === 0) {
    lines.push('_no code changes against the base commit_', '')
  } else {
    lines.push(...run.files.map(file => `- \`${file.status}\` ${file.path}`), '')
  }
  lines.push('## Artifacts', '')
  if (run.artifacts.length === 0) {
    lines.push('_none_', '')
  } else {
    lines.push(
      '| path | size | sha256 |',
      '|---|---|---|',
      ...run.artifacts.map(
        artifact =>
          `| ${markdownCell(artifact.path)} | ${formatBytes(artifact.size)} | \`${artifact.sha256.slice(0, 12)}\` |`
      ),
      ''
    )
  }
  return lines.join('\n')
}

const comparisonTable = (title: string, a: string, b: string, rows: KeyComparison[]): string[] => {
  if (rows.length === 0) {
    return [`## ${title}`, '', '_none_', '']
  }
  return [
    `## ${title}`,
    '',
    `| name | ${markdownCell(a)} | ${markdownCell(b)} | |`,
    '|---|---|---|---|',
    ...rows.map(
      row => `| ${markdownCell(row.key)} | ${cell(row.a)} | ${cell(row.b)} | ${row.changed ? '≠' : ''} |`
    ),
    ''
  ]
}

/** `compare` as Markdown: params and metrics side by side, then the changed files. */
export const renderDiffMarkdown = (diff: DiffResult): string => {
  const lines = [
    `# ${diff.a} ↔ ${diff.b}`,
    '',
    ...comparisonTable('Params', diff.a, diff.b, diff.params),
    ...comparisonTable('Metrics', diff.a, diff.b, diff.metrics),
    '## Code',
    ''
  ]
  if (diff.snapshot_a === diff.snapshot_b) {
    lines.push(`Both runs ran the same code snapshot \`${diff.snapshot_a.slice(0, 12)}\`.`, '')
  } else if (diff.files.length === 0) {
    lines.push('_the snapshots differ but no file changed_', '')
  } else {
    lines.push(
      `\`${diff.snapshot_a.slice(0, 12)}\` → \`${diff.snapshot_b.slice(0, 12)}\``,
      '',
      ...diff.files.map(file => `- \`${file.status}\` ${file.path}`),
      ''
    )
  }
  return lines.join('\n')
}
