import type { Scalar } from '../languageClient/protocol'

/** Compact, stable rendering of a metric or param value for tree descriptions and tables. */
export const formatValue = (value: Scalar | undefined): string => {
  if (value === undefined) {
    return ''
  }
  if (value === null) {
    return 'null'
  }
  if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      return String(value)
    }
    const abs = Math.abs(value)
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) {
      return value.toExponential(3)
    }
    return String(Number(value.toPrecision(4)))
  }
  return String(value)
}

export const formatDuration = (seconds: number | null | undefined): string => {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return ''
  }
  if (seconds < 60) {
    return `${Number(seconds.toFixed(1))}s`
  }
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) {
    return `${minutes}m ${Math.round(seconds % 60)}s`
  }
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`
}

export const formatBytes = (size: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = size
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${size} B` : `${value.toFixed(1)} ${units[unit]}`
}

/** Escape text for a Markdown table cell (pipes and newlines would break the row). */
export const markdownCell = (text: string): string =>
  text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')

export const escapeHtml = (text: string): string =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
