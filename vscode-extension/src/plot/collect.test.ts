import { strict as assert } from 'assert'
import { collectCharts, defaultKeys } from './collect'

describe('collectCharts', () => {
  it('makes one chart per key with one line per run, in the selection order', () => {
    const charts = collectCharts(['q/b', 'q/a'], ['loss', 'acc'], [
      { run: 'q/a', key: 'loss', points: [[2, 0.5], [1, 0.9]] },
      { run: 'q/b', key: 'loss', points: [[1, 0.8], [2, Number.NaN]] },
      { run: 'q/a', key: 'acc', points: [] }
    ])
    assert.deepEqual(charts, [
      {
        key: 'loss',
        lines: [
          { run: 'q/b', points: [{ x: 1, y: 0.8 }] },
          { run: 'q/a', points: [{ x: 1, y: 0.9 }, { x: 2, y: 0.5 }] }
        ]
      },
      { key: 'acc', lines: [] }
    ])
  })
})

describe('defaultKeys', () => {
  it('preselects the preferred keys first, at most max', () => {
    assert.deepEqual(defaultKeys(['a', 'b', 'c', 'd', 'e'], ['d', 'created', ''], 3), ['d', 'a', 'b'])
  })
})
