import { strict as assert } from 'assert'
import type { RunSummary } from '../languageClient/protocol'
import {
  type RunsNode,
  type ViewState,
  chooseKeyMetric,
  collectRunNodes,
  collectSortKeys,
  collectSweepNodes,
  describeRun,
  describeView,
  runTooltip,
  selectedRuns,
  sweepsFromRefs
} from './collect'

const run = (name: string, extra: Partial<RunSummary> = {}): RunSummary => ({
  run: `q/${name}`,
  sweep: 'q',
  name,
  status: 'completed',
  duration: 3.25,
  params: { lr: 0.1, solver: 'sgd' },
  metrics: { acc: 0.91, loss: 0.2 },
  ...extra
})

const state: ViewState = { filter: '', sort: 'created', descending: true, keyMetric: '' }

describe('collectSweepNodes', () => {
  it('sorts sweeps by name and gives them ids scoped by repository', () => {
    const nodes = collectSweepNodes('/r', [
      { sweep: 'b', runs: 1, running: 0 },
      { sweep: 'a', runs: 2, running: 1 }
    ], '')
    assert.deepEqual(nodes.map(node => node.id), ['sweep:/r:a', 'sweep:/r:b'])
  })

  it('hides sweeps where no run matches the filter', () => {
    const nodes = collectSweepNodes('/r', [
      { sweep: 'a', runs: 15, running: 0, matching: 0 },
      { sweep: 'b', runs: 4, running: 0, matching: 2 }
    ], 'lr0.1')
    assert.deepEqual(nodes.map(node => node.id), ['sweep:/r:b'])
  })

  it('explains an empty list, naming the filter when there is one', () => {
    const [empty] = collectSweepNodes('/r', [], '')
    const [filtered] = collectSweepNodes('/r', [], 'lr0.1')
    assert.equal(empty.kind, 'message')
    assert.match((empty as Extract<RunsNode, { kind: 'message' }>).text, /gitexp run/)
    assert.match((filtered as Extract<RunsNode, { kind: 'message' }>).text, /lr0\.1/)
  })
})

describe('collectRunNodes', () => {
  it('adds a load-more node while the sweep has more runs than loaded', () => {
    const nodes = collectRunNodes('/r', 'q', { runs: [run('a'), run('b')], total: 5 }, state)
    assert.deepEqual(nodes.map(node => node.kind), ['run', 'run', 'more'])
    assert.deepEqual(nodes[2], { kind: 'more', id: 'more:/r:q', repo: '/r', sweep: 'q', loaded: 2, total: 5 })
  })

  it('has no load-more node once every run is loaded', () => {
    const nodes = collectRunNodes('/r', 'q', { runs: [run('a')], total: 1 }, state)
    assert.deepEqual(nodes.map(node => node.kind), ['run'])
  })

  it('says so when a filter leaves no run in the sweep', () => {
    const [node] = collectRunNodes('/r', 'q', { runs: [], total: 0 }, { ...state, filter: 'x' })
    assert.equal(node.kind, 'message')
  })
})

describe('chooseKeyMetric', () => {
  it('prefers the configured metric, then the sort key, then the first metric by name', () => {
    assert.equal(chooseKeyMetric(run('a'), { ...state, keyMetric: 'loss' }), 'loss')
    assert.equal(chooseKeyMetric(run('a'), { ...state, sort: 'loss' }), 'loss')
    assert.equal(chooseKeyMetric(run('a'), { ...state, keyMetric: 'nope', sort: 'lr' }), 'acc')
    assert.equal(chooseKeyMetric(run('a', { metrics: {} }), state), undefined)
  })
})

describe('describeRun', () => {
  it('shows the key metric and the duration of a finished run', () => {
    assert.equal(describeRun(run('a'), 'acc'), 'acc 0.91 · 3.3s')
  })

  it('shows the status of a live run instead of its duration', () => {
    assert.equal(describeRun(run('a', { status: 'running' }), 'loss'), 'loss 0.2 · running')
  })
})

describe('runTooltip', () => {
  it('lists params and metrics in Markdown tables with cells escaped', () => {
    const text = runTooltip(run('a', { params: { note: 'a|b' } }))
    assert.match(text, /\*\*q\/a\*\* · completed/)
    assert.match(text, /\| note \| a\\\|b \|/)
    assert.match(text, /\| acc \| 0\.91 \|/)
  })

  it('says where a pulled run came from, and nothing for a run made here', () => {
    assert.match(runTooltip(run('a', { origin: 'lab' })), /pulled from lab/)
    assert.doesNotMatch(runTooltip(run('a')), /pulled from/)
  })
})

describe('collectSortKeys', () => {
  it('offers created first, then every param and metric name once', () => {
    const keys = collectSortKeys([run('a'), run('b', { metrics: { f1: 1 } })])
    assert.deepEqual(keys, ['created', 'acc', 'f1', 'loss', 'lr', 'solver'])
  })
})

describe('describeView', () => {
  it('is empty for the default order and names filter and sort otherwise', () => {
    assert.equal(describeView(state), '')
    assert.equal(describeView({ ...state, filter: 'sgd', sort: 'acc', descending: false }), 'filter "sgd" · sorted by acc ↑')
  })
})

describe('selectedRuns', () => {
  const a = collectRunNodes('/r', 'q', { runs: [run('a')], total: 1 }, state)[0]
  const b = collectRunNodes('/r', 'q', { runs: [run('b')], total: 1 }, state)[0]
  const c = collectRunNodes('/r', 'q', { runs: [run('c')], total: 1 }, state)[0]

  it('acts on the whole selection when the clicked run is part of it', () => {
    assert.deepEqual(selectedRuns(a, [a, b]).map(node => node.id), [a.id, b.id])
  })

  it('acts on the clicked run alone when it is outside the selection', () => {
    assert.deepEqual(selectedRuns(c, [a, b]).map(node => node.id), [c.id])
  })

  it('ignores nodes that are not runs', () => {
    assert.deepEqual(selectedRuns(undefined, [{ kind: 'sweep' }, a]).map(node => node.id), [a.id])
  })
})

describe('sweepsFromRefs', () => {
  it('counts runs per sweep from a ref listing, ignoring anything else', () => {
    const listing = 'refs/experiments/a/r1\nrefs/experiments/b/r1\nrefs/experiments/a/r2\nrefs/experiments/odd\nrefs/heads/main\n'
    assert.deepEqual(sweepsFromRefs(listing), [{ sweep: 'a', runs: 2, running: 0 }, { sweep: 'b', runs: 1, running: 0 }])
    assert.deepEqual(sweepsFromRefs(''), [])
  })
})
