import { strict as assert } from 'assert'
import { EventEmitter } from 'vscode'
import type { RunSummary, RunsParams, RunsResult } from '../languageClient/protocol'
import type { Repositories } from '../repository/registry'
import { settings } from '../test/vscodeMock'
import type { RunsNode } from './collect'
import { RunsTree } from './tree'

/** An in-memory `gitexp/runs` that pages, filters and sorts like PROTOCOL.md says. */
class FakeClient {
  public readonly calls: RunsParams[] = []
  public readonly onDidChangeRuns = new EventEmitter<{ runs: string[] }>().event
  public state: object = { kind: 'running' }
  constructor(
    public readonly root: string,
    public runsList: RunSummary[]
  ) {}
  get name() {
    return this.root
  }
  async runs(params: RunsParams): Promise<RunsResult> {
    this.calls.push(params)
    let runs = this.runsList.filter(run => !params.sweep || run.sweep === params.sweep)
    if (params.filter) {
      runs = runs.filter(run => run.run.includes(params.filter as string))
    }
    if (params.sort && params.sort !== 'created') {
      const key = params.sort
      runs = [...runs].sort((a, b) => Number(a.metrics[key]) - Number(b.metrics[key]))
      if (params.descending) {
        runs.reverse()
      }
    }
    const sweeps = [...new Set(runs.map(run => run.sweep))].map(sweep => ({
      sweep,
      runs: runs.filter(run => run.sweep === sweep).length,
      running: 0
    }))
    const offset = params.offset ?? 0
    return { total: runs.length, offset, runs: runs.slice(offset, offset + (params.limit ?? 1e9)), sweeps }
  }
}

const makeRuns = (sweep: string, count: number): RunSummary[] =>
  Array.from({ length: count }, (_, index) => ({
    run: `${sweep}/r${index}`,
    sweep,
    name: `r${index}`,
    status: 'completed',
    params: {},
    metrics: { acc: index / 100 }
  }))

const repositories = (clients: FakeClient[]): Repositories =>
  ({
    list: () => clients,
    get: (root: string) => clients.find(client => client.root === root),
    onDidChange: new EventEmitter<void>().event
  }) as unknown as Repositories

const ids = (nodes: RunsNode[]) => nodes.map(node => node.id)

describe('RunsTree', () => {
  beforeEach(() => (settings.pageSize = 3))
  afterEach(() => delete settings.pageSize)

  it('lists sweeps at the root for a single repository', async () => {
    const client = new FakeClient('/r', [...makeRuns('a', 2), ...makeRuns('b', 1)])
    const tree = new RunsTree(repositories([client]))
    assert.deepEqual(ids(await tree.getChildren()), ['sweep:/r:a', 'sweep:/r:b'])
    assert.equal(client.calls[0].limit, 0)
    tree.dispose()
  })

  it('tells the extension once when it first listed sweeps (the Python extension waits for it)', async () => {
    const client = new FakeClient('/r', makeRuns('a', 2))
    const lines: string[] = []
    let told = 0
    const tree = new RunsTree(repositories([client]), { log: line => lines.push(line), onFirstSweeps: () => told++ })
    await tree.getChildren()
    tree.refresh()
    await tree.getChildren()
    assert.equal(told, 1)
    assert.deepEqual(lines, ['Runs view: first listing, 1 sweeps from the server'])
    tree.dispose()
  })

  it('groups by repository when the workspace has several', async () => {
    const tree = new RunsTree(repositories([new FakeClient('/r1', []), new FakeClient('/r2', [])]))
    const roots = await tree.getChildren()
    assert.deepEqual(ids(roots), ['repo:/r1', 'repo:/r2'])
    assert.equal((await tree.getChildren(roots[1]))[0].kind, 'message')
    tree.dispose()
  })

  it('pages through a big sweep and keeps the shown length on refresh', async () => {
    const client = new FakeClient('/r', makeRuns('big', 7))
    const tree = new RunsTree(repositories([client]))
    const [sweep] = await tree.getChildren()
    let children = await tree.getChildren(sweep)
    assert.deepEqual(children.map(node => node.kind), ['run', 'run', 'run', 'more'])
    await tree.loadMore(children[3] as Extract<RunsNode, { kind: 'more' }>)
    children = await tree.getChildren(sweep)
    assert.equal(children.filter(node => node.kind === 'run').length, 6)
    tree.refresh()
    children = await tree.getChildren(sweep)
    assert.equal(children.filter(node => node.kind === 'run').length, 6)
    assert.deepEqual(client.calls.at(-1), {
      sweep: 'big', filter: undefined, sort: 'created', descending: true, offset: 0, limit: 6
    })
    tree.dispose()
  })

  it('sends filter and sort to the server and starts again from the first page', async () => {
    const client = new FakeClient('/r', makeRuns('s', 5))
    const tree = new RunsTree(repositories([client]))
    tree.setSort('acc', true)
    tree.setFilter(' r1 ')
    const [sweep] = await tree.getChildren()
    const runs = await tree.getChildren(sweep)
    assert.deepEqual(ids(runs), ['run:/r:s/r1'])
    assert.deepEqual(client.calls.at(-1), {
      sweep: 's', filter: 'r1', sort: 'acc', descending: true, offset: 0, limit: 3
    })
    assert.equal(tree.view.description, 'filter "r1" · sorted by acc ↓')
    tree.dispose()
  })

  it('shows a failing server as an error item', async () => {
    const client = new FakeClient('/r', [])
    client.runs = async () => {
      throw new Error('boom')
    }
    const tree = new RunsTree(repositories([client]))
    const [node] = await tree.getChildren()
    assert.deepEqual(
      { ...node },
      { kind: 'message', id: 'error:/r', repo: '/r', text: 'Cannot list runs: boom', error: true, detail: undefined }
    )
    tree.dispose()
  })

  it('names the setting to fix when the executable is missing', async () => {
    const client = new FakeClient('/r', [])
    ;(client as { state: object }).state = { kind: 'failed', message: 'long message', missingExecutable: true }
    const tree = new RunsTree(repositories([client]))
    const [node] = await tree.getChildren()
    assert.ok(node.kind === 'message' && node.error)
    assert.match(node.text, /gitexp\.executable/)
    assert.equal(node.detail, 'long message')
    tree.dispose()
  })
})

