import { strict as assert } from 'assert'
import type { RunDetail } from '../languageClient/protocol'
import { collectRunDetail } from './collect'

const detail: RunDetail = {
  run: 'q/a',
  sweep: 'q',
  name: 'a',
  status: 'failed',
  exit_code: 1,
  command: 'python train.py --lr 0.1',
  params: { lr: 0.1 },
  metrics: {},
  duration: 75,
  commit: 'c0ffee',
  snapshot: '5eed',
  base_commit: null,
  files: [{ path: 'train.py', status: 'M' }],
  artifacts: [{ path: 'model.pt', size: 2048, sha256: 'ab' }]
}

describe('collectRunDetail', () => {
  it('groups facts, params, artifacts and files and leaves out empty groups', () => {
    const groups = collectRunDetail('/r', detail)
    assert.deepEqual(groups.map(group => (group.kind === 'group' ? group.label : '')), [
      'Run',
      'Params (1)',
      'Artifacts (1)',
      'Changed files (1)'
    ])
  })

  it('shows exit code with the status and skips unknown facts', () => {
    const [info] = collectRunDetail('/r', detail)
    assert.ok(info.kind === 'group')
    const facts = Object.fromEntries(
      info.children.map(child => (child.kind === 'value' ? [child.label, child.value] : ['', '']))
    )
    assert.equal(facts.status, 'failed (exit 1)')
    assert.equal(facts.duration, '1m 15s')
    assert.equal('base commit' in facts, false)
  })

  it('makes changed files addressable by repository, run and path', () => {
    const files = collectRunDetail('/r', detail).at(-1)
    assert.ok(files?.kind === 'group')
    assert.deepEqual(files.children[0], {
      kind: 'file', id: 'q/a:file:train.py', repo: '/r', run: 'q/a', path: 'train.py', status: 'M'
    })
  })
})
