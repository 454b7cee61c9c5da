import { strict as assert } from 'assert'
import type { Scalar, TableRow } from '../languageClient/protocol'
import { cellValue, columnId, compareValues, numeric, parseTagEdit } from './values'

describe('compareValues', () => {
  const sorted = (values: (Scalar | undefined)[], descending = false): (Scalar | undefined)[] =>
    // AG Grid negates the comparator for a descending column; do the same here.
    [...values].sort((a, b) => (descending ? -1 : 1) * compareValues(a, b, descending))

  it('orders numbers, then NaN, booleans and text; missing values last either way', () => {
    // (Array.sort puts `undefined` last by itself; '' and null go through the comparator.)
    const values = ['oom', 0.5, '', Number.NaN, 0.1, null, true, 'nan', 2]
    assert.deepEqual(sorted(values), [0.1, 0.5, 2, Number.NaN, true, 'nan', 'oom', '', null])
    assert.deepEqual(sorted(values, true).slice(-2), ['', null])
    assert.equal(compareValues(undefined, 1), 1)
    assert.equal(compareValues(undefined, 1, true), -1)
    assert.deepEqual(sorted(values, true).slice(0, 3), ['oom', 'nan', true])
  })

  it('compares text naturally (run2 before run10)', () => {
    assert.deepEqual(sorted(['run10', 'run2']), ['run2', 'run10'])
  })
})

describe('numeric', () => {
  it('keeps finite numbers only', () => {
    assert.equal(numeric(1.5), 1.5)
    assert.equal(numeric('1.5'), undefined)
    assert.equal(numeric(Number.NaN), undefined)
  })
})

describe('parseTagEdit', () => {
  it('reads bare names, values and removals', () => {
    assert.deepEqual(parseTagEdit(' best lr=low seed=3 -old '), { set: { best: true, lr: 'low', seed: 3 }, remove: ['old'] })
  })

  it('refuses names with spaces or slashes in one line, writing nothing', () => {
    const edit = parseTagEdit('good a/b=1')
    assert.ok('error' in edit)
    assert.match(edit.error, /"a\/b"/)
    assert.doesNotMatch(edit.error, /\n/)
    assert.ok('error' in parseTagEdit('   '))
  })
})

describe('cellValue', () => {
  const row: TableRow = {
    run: 'q/a', sweep: 'q', name: 'a', status: 'completed', params: { 'model.depth': 3 },
    metrics: { acc: 0.9 }, tags: { star: true }
  }

  it('reads fixed fields and grouped keys with dots in them', () => {
    assert.equal(cellValue(row, 'status'), 'completed')
    assert.equal(cellValue(row, columnId({ kind: 'param', key: 'model.depth' })), 3)
    assert.equal(cellValue(row, 'metrics.acc'), 0.9)
    assert.equal(cellValue(row, 'tags.star'), true)
    assert.equal(cellValue(row, 'metrics.missing'), undefined)
  })
})
