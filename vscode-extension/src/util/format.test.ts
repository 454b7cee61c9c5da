import { strict as assert } from 'assert'
import { formatBytes, formatDuration, formatValue, markdownCell } from './format'

describe('format', () => {
  it('renders values compactly', () => {
    assert.equal(formatValue(0.123456789), '0.1235')
    assert.equal(formatValue(42), '42')
    assert.equal(formatValue(0.00001234), '1.234e-5')
    assert.equal(formatValue(null), 'null')
    assert.equal(formatValue(true), 'true')
    assert.equal(formatValue(undefined), '')
  })

  it('renders durations and sizes for people', () => {
    assert.equal(formatDuration(3.21), '3.2s')
    assert.equal(formatDuration(125), '2m 5s')
    assert.equal(formatDuration(7260), '2h 1m')
    assert.equal(formatDuration(null), '')
    assert.equal(formatBytes(512), '512 B')
    assert.equal(formatBytes(3 * 1024 * 1024), '3.0 MiB')
  })

  it('keeps Markdown table cells on one row', () => {
    assert.equal(markdownCell('a|b\nc'), 'a\\|b c')
  })
})
