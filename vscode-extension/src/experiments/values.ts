/**
 * Pure helpers of the experiments table, shared by the extension and the table webview:
 * ordering of mixed cell values, tag input, and CSV. No `vscode`, no DOM.
 */
import type { Scalar, TableColumn, TableRow } from '../languageClient/protocol'

/** One collator for every comparison: `localeCompare` with options builds one per call
 * (a sort of 10k text cells took a second). `numeric`: run2 before run10. */
const collator = new Intl.Collator(undefined, { numeric: true })

/** Where a value sorts: numbers (NaN last among them), then booleans, then text; missing last. */
const rank = (value: Scalar | undefined): number => {
  if (value === undefined || value === null || value === '') {
    return 4
  }
  if (typeof value === 'number') {
    return Number.isNaN(value) ? 1 : 0
  }
  if (typeof value === 'boolean') {
    return 2
  }
  return 3
}

/**
 * A total order over cell values of any type, so a column holding numbers, strings ("nan",
 * "oom"), NaN and gaps still sorts: same-type values compare naturally, types never mix.
 * Missing values sort last in both directions (`descending` flips everything else).
 */
export const compareValues = (a: Scalar | undefined, b: Scalar | undefined, descending = false): number => {
  const ra = rank(a)
  const rb = rank(b)
  if (ra === 4 || rb === 4) {
    // missing stays last whichever way the column sorts (AG Grid inverts our result)
    return ra === rb ? 0 : (ra === 4 ? 1 : -1) * (descending ? -1 : 1)
  }
  if (ra !== rb) {
    return ra - rb
  }
  if (ra === 0) {
    return (a as number) - (b as number)
  }
  if (ra === 2) {
    return Number(a) - Number(b)
  }
  if (ra === 1) {
    return 0
  }
  return collator.compare(String(a), String(b))
}

/** A cell value as a number for range filters, or undefined when it is not one. */
export const numeric = (value: Scalar | undefined): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined

export const TAG_NAME = /^[A-Za-z0-9._-]+$/

export type TagEdit = { set: Record<string, Scalar>; remove: string[] } | { error: string }

/**
 * `name[=value] ... -name ...` as typed in the table's tag box (or `gitexp tag` arguments):
 * a bare name is `true`, a number stays a number, `-name` removes. Names are
 * [A-Za-z0-9._-]: a name with spaces or slashes is one line of error and nothing is written.
 */
export const parseTagEdit = (text: string): TagEdit => {
  const set: Record<string, Scalar> = {}
  const remove: string[] = []
  const words = text.trim().split(/\s+/).filter(Boolean)
  if (words.length === 0) {
    return { error: 'type a tag: name, name=value, or -name to remove' }
  }
  for (const word of words) {
    if (word.startsWith('-')) {
      const name = word.slice(1)
      if (!TAG_NAME.test(name)) {
        return { error: `tag name ${JSON.stringify(name)}: use letters, digits, '.', '_' or '-'` }
      }
      remove.push(name)
      continue
    }
    const eq = word.indexOf('=')
    const name = eq < 0 ? word : word.slice(0, eq)
    if (!TAG_NAME.test(name)) {
      return { error: `tag name ${JSON.stringify(name)}: use letters, digits, '.', '_' or '-'` }
    }
    const raw = eq < 0 ? undefined : word.slice(eq + 1)
    set[name] = raw === undefined ? true : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw
  }
  return { set, remove }
}

/** The id of a table column: `params.lr`, `metrics.acc`, `tags.star`, or a fixed field. */
export const columnId = (column: Pick<TableColumn, 'kind' | 'key'>): string => `${column.kind}s.${column.key}`

export const cellValue = (row: TableRow, id: string): Scalar | undefined => {
  const dot = id.indexOf('.')
  const group = dot < 0 ? '' : id.slice(0, dot)
  if (group === 'params' || group === 'metrics' || group === 'tags') {
    return row[group][id.slice(dot + 1)]
  }
  return (row as unknown as Record<string, Scalar | undefined>)[id]
}

const csvField = (value: Scalar | undefined): string => {
  const text = value === undefined || value === null ? '' : String(value)
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** Rows as CSV (RFC 4180) with the given column ids and header names. */
export const toCsv = (rows: TableRow[], columns: { id: string; header: string }[]): string =>
  [columns.map(column => csvField(column.header)).join(','),
    ...rows.map(row => columns.map(column => csvField(cellValue(row, column.id))).join(','))].join('\r\n') + '\r\n'
