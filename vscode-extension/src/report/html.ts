/**
 * Show Run and Compare as HTML for a webview (no script runs in it): facts, params and
 * metrics, side by side for 2 or more runs with differing values highlighted, and the code
 * diff per file. Everything from a record is escaped.
 */
import type { DiffResult, RunDetail, RunImages, Scalar } from '../languageClient/protocol'
import { escapeHtml, formatBytes, formatDuration, formatValue } from '../util/format'

const cell = (value: Scalar | undefined): string =>
  value === undefined ? '<span class="missing">—</span>' : escapeHtml(formatValue(value))

const commandLink = (command: string, args: unknown, text: string): string =>
  `<a href="command:${command}?${encodeURIComponent(JSON.stringify(args))}">${escapeHtml(text)}</a>`

const keyValues = (title: string, values: Record<string, Scalar>): string => {
  const keys = Object.keys(values).sort()
  const rows = keys.map(key => `<tr><th scope="row">${escapeHtml(key)}</th><td${typeof values[key] === 'number' ? ' class="number"' : ''}>${cell(values[key])}</td></tr>`)
  return `<h2>${title}</h2>` + (keys.length ? `<table>${rows.join('')}</table>` : '<p class="missing">none</p>')
}

export const renderRunHtml = (run: RunDetail, repo: string, images: RunImages[] = []): string => {
  const facts: [string, string | undefined][] = [
    ['status', `<span class="status ${escapeHtml(run.status)}">${escapeHtml(run.status)}</span>`],
    ['command', run.command ? `<code>${escapeHtml(run.command)}</code>` : undefined],
    ['exit code', run.exit_code === null || run.exit_code === undefined ? undefined : String(run.exit_code)],
    ['created', run.created ? escapeHtml(run.created) : undefined],
    ['duration', formatDuration(run.duration) || undefined],
    ['host', run.host ? escapeHtml(run.host) : undefined],
    ['gpus', run.gpus && run.gpus.length ? escapeHtml(run.gpus.map(String).join(', ')) : undefined],
    ['tags', tagsText(run) || undefined],
    ['run commit', `<code>${escapeHtml(run.commit)}</code>`],
    ['code snapshot', `<code>${escapeHtml(run.snapshot)}</code>`],
    ['base commit', run.base_commit ? `<code>${escapeHtml(run.base_commit)}</code>` : undefined]
  ]
  const files = run.files.length
    ? `<ul>${run.files.map(file => `<li><code>${escapeHtml(file.status)}</code> ${commandLink('gitexp.openRunFile', { repo, run: run.run, path: file.path }, file.path)}</li>`).join('')}</ul>`
    : '<p class="missing">no code changes against the base commit</p>'
  const artifacts = run.artifacts.length
    ? `<table><tr><th>path</th><th>size</th><th>sha256</th></tr>${run.artifacts.map(a => `<tr><td>${escapeHtml(a.path)}</td><td class="number">${formatBytes(a.size)}</td><td><code>${escapeHtml(a.sha256.slice(0, 12))}</code></td></tr>`).join('')}</table>`
    : '<p class="missing">none</p>'
  return [
    `<h1>${escapeHtml(run.run)}</h1>`,
    `<p class="actions">${commandLink('gitexp.showLogs', { repo, run: run.run }, 'Logs')} · ${commandLink('gitexp.plotRuns', { repo, runs: [run.run] }, 'Plot')}</p>`,
    '<table class="facts">',
    ...facts.filter(([, value]) => value).map(([name, value]) => `<tr><th scope="row">${name}</th><td>${value}</td></tr>`),
    '</table>',
    `<div class="columns"><div>${keyValues('Params', run.params)}</div><div>${keyValues('Metrics', run.metrics)}</div></div>`,
    imagesSection(images),
    '<h2>Changed files</h2>', files,
    '<h2>Artifacts</h2>', artifacts
  ].join('\n')
}

/**
 * The images a run logged, one row per tag: the steps the server sent (evenly spread, first
 * and last always), each with its step and size. Static (the view runs no script): the plots
 * dashboard has the step slider. Only `data:image/` URIs are shown; the rest are named.
 */
export const imagesSection = (images: RunImages[]): string => {
  if (images.length === 0) {
    return ''
  }
  const tags = [...images].sort((a, b) => a.tag.localeCompare(b.tag)).map(item => {
    const figures = item.steps.map(step => {
      const caption = `step ${step.step} · ${step.width}×${step.height}`
      const picture = step.uri?.startsWith('data:image/')
        ? `<img src="${escapeHtml(step.uri)}" alt="${escapeHtml(`${item.tag} step ${step.step}`)}" data-step="${step.step}">`
        : '<span class="missing">(too large to send)</span>'
      return `<figure>${picture}<figcaption>${escapeHtml(caption)}</figcaption></figure>`
    })
    const spread = item.logged > item.steps.length ? ` <small>${item.steps.length} of ${item.logged} steps</small>` : ''
    return `<section class="image-tag" data-tag="${escapeHtml(item.tag)}"><h3>${escapeHtml(item.tag)}${spread}</h3><div class="image-steps">${figures.join('')}</div></section>`
  })
  return ['<h2>Images</h2>', ...tags].join('\n')
}

const tagsText = (run: RunDetail): string => {
  const tags = (run.record?.tags ?? {}) as Record<string, Scalar>
  return Object.entries(tags).map(([key, value]) => escapeHtml(value === true ? key : `${key}=${String(value)}`)).join(' ')
}

/** One row per key, one column per run; `differs` when the runs do not all agree. */
export const sideBySide = (
  runs: RunDetail[],
  pick: (run: RunDetail) => Record<string, Scalar>
): { key: string; values: (Scalar | undefined)[]; differs: boolean }[] => {
  const keys = [...new Set(runs.flatMap(run => Object.keys(pick(run))))].sort()
  return keys.map(key => {
    const values = runs.map(run => pick(run)[key])
    const differs = new Set(values.map(value => JSON.stringify(value ?? null))).size > 1
    return { key, values, differs }
  })
}

const comparison = (title: string, runs: RunDetail[], pick: (run: RunDetail) => Record<string, Scalar>): string => {
  const rows = sideBySide(runs, pick)
  if (rows.length === 0) {
    return `<h2>${title}</h2><p class="missing">none</p>`
  }
  const changed = rows.filter(row => row.differs).length
  return [
    `<h2>${title} <small>${changed} of ${rows.length} differ</small></h2>`,
    `<table class="compare"><tr><th></th>${runs.map(run => `<th scope="col">${escapeHtml(run.run)}</th>`).join('')}</tr>`,
    ...rows.map(row => `<tr class="${row.differs ? 'differs' : ''}"><th scope="row">${escapeHtml(row.key)}</th>${row.values
      .map(value => `<td${typeof value === 'number' ? ' class="number"' : ''}>${cell(value)}</td>`).join('')}</tr>`),
    '</table>'
  ].join('\n')
}

const patchHtml = (patch: string): string =>
  `<pre class="patch">${patch
    .split('\n')
    .map(line => {
      const kind = line.startsWith('@@') ? 'hunk' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : ''
      return `<span class="${kind}">${escapeHtml(line)}</span>`
    })
    .join('\n')}</pre>`

/** The code of each run against the first one: per file, the patch and a diff-editor link. */
const codeSection = (repo: string, diffs: DiffResult[]): string => {
  const parts = ['<h2>Code</h2>']
  for (const diff of diffs) {
    parts.push(`<h3>${escapeHtml(diff.a)} → ${escapeHtml(diff.b)}</h3>`)
    if (diff.snapshot_a === diff.snapshot_b) {
      parts.push(`<p>Same code snapshot <code>${escapeHtml(diff.snapshot_a.slice(0, 12))}</code>.</p>`)
      continue
    }
    if (diff.files.length === 0) {
      parts.push('<p class="missing">the snapshots differ but no file changed</p>')
      continue
    }
    for (const file of diff.files) {
      parts.push(
        `<details open><summary><code>${escapeHtml(file.status)}</code> ${escapeHtml(file.path)} · ${commandLink(
          'gitexp.openDiff', { repo, a: diff.a, b: diff.b, path: file.path }, 'open in diff editor')}</summary>${
          file.patch ? patchHtml(file.patch) : '<p class="missing">binary or too large to show</p>'}</details>`
      )
    }
  }
  return parts.join('\n')
}

export const renderCompareHtml = (repo: string, runs: RunDetail[], diffs: DiffResult[]): string =>
  [
    `<h1>${runs.map(run => escapeHtml(run.run)).join(' ↔ ')}</h1>`,
    comparison('Params', runs, run => run.params),
    comparison('Metrics', runs, run => run.metrics),
    codeSection(repo, diffs)
  ].join('\n')

export const REPORT_STYLE = `
h1 { font-size: 1.4em; } h2 small { font-weight: normal; opacity: 0.7; font-size: 0.8em; }
.columns { display: flex; flex-wrap: wrap; gap: 24px; }
.missing { opacity: 0.6; }
tr.differs td, tr.differs th { background: var(--vscode-diffEditor-insertedTextBackground, rgba(155,185,85,0.2)) !important; }
table.compare td { min-width: 8em; }
pre.patch { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); overflow-x: auto; padding: 4px 8px; background: var(--vscode-textCodeBlock-background); }
pre.patch .add { color: var(--vscode-gitDecoration-addedResourceForeground, #81b88b); }
pre.patch .del { color: var(--vscode-gitDecoration-deletedResourceForeground, #c74e39); }
pre.patch .hunk { color: var(--vscode-charts-blue, #3794ff); }
.status.failed { color: var(--vscode-errorForeground); }
.status.completed { color: var(--vscode-testing-iconPassed, #73c991); }
a { color: var(--vscode-textLink-foreground); }
.image-steps { display: flex; flex-wrap: wrap; gap: 8px; }
.image-steps figure { margin: 0; display: flex; flex-direction: column; gap: 2px; }
.image-steps img { image-rendering: pixelated; min-width: 64px; max-width: 256px; max-height: 256px; object-fit: contain; border: 1px solid var(--vscode-panel-border); }
.image-steps figcaption, .image-tag h3 small { font-size: 0.85em; opacity: 0.8; font-weight: normal; }
`
