import { strict as assert } from 'assert'
import { ThemeIcon, TreeItemCollapsibleState } from 'vscode'
import type { RunsNode } from './collect'
import { runsTreeItem, statusIcon } from './items'

const runNode = (status: string): RunsNode => ({
  kind: 'run',
  id: 'run:/r:q/a',
  repo: '/r',
  keyMetric: 'acc',
  run: { run: 'q/a', sweep: 'q', name: 'a', status, params: {}, metrics: { acc: 0.5 } }
})

describe('runsTreeItem', () => {
  it('marks live runs so that only they offer kill', () => {
    assert.equal(runsTreeItem(runNode('running')).contextValue, 'gitexpRun.live')
    assert.equal(runsTreeItem(runNode('queued')).contextValue, 'gitexpRun.live')
    assert.equal(runsTreeItem(runNode('failed')).contextValue, 'gitexpRun.done')
  })

  it('labels a run with its name, status icon and key metric', () => {
    const item = runsTreeItem(runNode('completed'))
    assert.equal(item.label, 'a')
    assert.equal(item.description, 'acc 0.5')
    assert.equal((item.iconPath as ThemeIcon).id, 'pass')
    assert.equal(item.accessibilityInformation?.label, 'q/a, completed, acc 0.5')
  })

  it('shows sweeps collapsed with their run counts', () => {
    const item = runsTreeItem({ kind: 'sweep', id: 's', repo: '/r', sweep: { sweep: 'q', runs: 4, running: 1 } })
    assert.equal(item.collapsibleState, TreeItemCollapsibleState.Collapsed)
    assert.equal(item.description, '4 runs · 1 running')
  })

  it('says how many runs of a filtered sweep match, not its total alone', () => {
    const item = runsTreeItem({ kind: 'sweep', id: 's', repo: '/r', sweep: { sweep: 'q', runs: 15, running: 0, matching: 3 } })
    assert.equal(item.description, '3 of 15 runs match')
  })

  it('turns the load-more node into a button', () => {
    const node: RunsNode = { kind: 'more', id: 'm', repo: '/r', sweep: 'q', loaded: 50, total: 120 }
    const item = runsTreeItem(node)
    assert.equal(item.label, 'Load more… (50 of 120)')
    assert.deepEqual(item.command?.arguments, [node])
  })

  it('links errors to the output channel', () => {
    const item = runsTreeItem({ kind: 'message', id: 'e', text: 'boom', error: true })
    assert.equal(item.command?.command, 'gitexp.showOutput')
    assert.equal(item.contextValue, 'gitexpError')
  })
})

describe('statusIcon', () => {
  it('has a distinct codicon per status and a neutral one for unknown statuses', () => {
    const ids = ['completed', 'failed', 'running', 'queued', 'cancelled', 'lost'].map(s => statusIcon(s).id)
    assert.equal(new Set(ids).size, ids.length)
    assert.equal(statusIcon('weird').id, 'circle-outline')
  })
})
