import { strict as assert } from 'assert'
import type { TableRow } from '../languageClient/protocol'
import { type GridRow, arrange, groupId, groupLabel, groupRow, gridRow, lowerIsBetter, summarise } from './groups'

const run = (sweep: string, name: string, metrics: TableRow['metrics'] = {}, status = 'completed'): TableRow => ({
  run: `${sweep}/${name}`,
  sweep,
  name,
  status,
  params: { lr: 0.1, 'model.depth': 3 },
  metrics,
  tags: { star: true }
})

const node = (data: GridRow): { data: GridRow } => ({ data })
const ids = (nodes: { data?: GridRow }[]): string[] => nodes.map(item => item.data!.id)

describe('gridRow', () => {
  it('reads every cell once, keys with dots included', () => {
    const row = gridRow(run('a', 'x', { acc: 0.9 }))
    assert.equal(row.id, 'a/x')
    assert.equal(row.cells['params.model.depth'], 3)
    assert.equal(row.cells['metrics.acc'], 0.9)
    assert.equal(row.cells['tags.star'], true)
    assert.equal(row.cells.status, 'completed')
    assert.equal(row.cells['metrics.missing'], undefined)
  })
})

describe('summarise', () => {
  it('counts runs per sweep and finds the best metric, minimising losses', () => {
    const rows = [run('a', 'x', { acc: 0.5, loss: 2 }), run('a', 'y', { acc: 0.9, loss: 1 }, 'running'),
      run('b', 'z', { acc: 'nan', loss: Number.NaN })]
    const byAcc = summarise(rows, 'acc')
    assert.deepEqual(byAcc.get('a'), { sweep: 'a', runs: 2, running: 1, metric: 'acc', best: { run: 'a/y', value: 0.9 } })
    assert.equal(byAcc.get('b')?.best, undefined) // strings and NaN are never "best"
    assert.deepEqual(summarise(rows, 'loss').get('a')?.best, { run: 'a/y', value: 1 })
    assert.equal(summarise(rows, undefined).get('a')?.best, undefined)
    assert.ok(lowerIsBetter('val/loss') && lowerIsBetter('wer') && !lowerIsBetter('accuracy'))
  })
})

describe('arrange', () => {
  const rows = [run('b', 'b1'), run('a', 'a2'), run('b', 'b2'), run('a', 'a1')].map(gridRow)
  const headers = summarise(rows.map(row => row.row!), undefined)
  const sorted = [...rows.map(node)]
  const all = [node(groupRow(headers.get('b')!)), ...sorted, node(groupRow(headers.get('a')!))]

  it('puts each sweep under its header, keeping the order the grid sorted within it', () => {
    const { order, shown } = arrange(all, new Set())
    assert.deepEqual(ids(order), [groupId('a'), 'a/a2', 'a/a1', groupId('b'), 'b/b1', 'b/b2'])
    assert.deepEqual([...shown], [['a', 2], ['b', 2]])
    assert.deepEqual(ids(arrange(all, new Set(), true).order).slice(0, 1), [groupId('b')])
  })

  it('keeps a collapsed sweep header without rows; drops a header whose rows were all filtered out', () => {
    const withoutA = all.filter(item => item.data.sweep !== 'a' || item.data.group)
    assert.deepEqual(ids(arrange(withoutA, new Set(['a'])).order), [groupId('a'), groupId('b'), 'b/b1', 'b/b2'])
    assert.deepEqual(ids(arrange(withoutA, new Set()).order), [groupId('b'), 'b/b1', 'b/b2'])
  })

  it('labels a header with its counts and best value', () => {
    const group = { sweep: 's', runs: 10, running: 2, metric: 'acc', best: { run: 's/r3', value: 0.98765 } }
    assert.equal(groupLabel(group, false, 4, String), '▾ s · 10 runs (4 shown) · 2 running · best acc 0.98765 (s/r3)')
    assert.equal(groupLabel({ ...group, running: 0, best: undefined }, true, 0, String), '▸ s · 10 runs')
  })
})
