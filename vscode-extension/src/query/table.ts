import type { QueryResult } from '../languageClient/protocol'
import { escapeHtml, formatValue } from '../util/format'

/** The body of the query webview: the SQL, then its result as an HTML table (all escaped). */
export const renderQueryBody = (sql: string, result: QueryResult): string => {
  const header = result.columns.map(column => `<th scope="col">${escapeHtml(column)}</th>`).join('')
  const rows = result.rows
    .map(
      row =>
        '<tr>' +
        row
          .map(value =>
            typeof value === 'number'
              ? `<td class="number">${escapeHtml(formatValue(value))}</td>`
              : `<td>${escapeHtml(value === null ? 'null' : String(value))}</td>`
          )
          .join('') +
        '</tr>'
    )
    .join('\n')
  const count = `${result.rows.length} row${result.rows.length === 1 ? '' : 's'}${
    result.truncated ? ' (truncated)' : ''
  }`
  return [
    `<h2><code>${escapeHtml(sql)}</code></h2>`,
    `<p>${count}</p>`,
    `<table><thead><tr>${header}</tr></thead><tbody>`,
    rows,
    '</tbody></table>'
  ].join('\n')
}
