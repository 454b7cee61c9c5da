import { strict as assert } from 'assert'
import type { DiffResult, RunDetail } from '../languageClient/protocol'
import { renderDiffMarkdown, renderRunMarkdown } from './markdown'

const run: RunDetail = {
  run: 'q/a', sweep: 'q', name: 'a', status: 'completed', command: 'python train.py --lr 0.1',
  params: { lr: 0.1 }, metrics: { acc: 0.9 }, commit: 'c'.repeat(40), snapshot: 's'.repeat(40),
  files: [{ path: 'train.py', status: 'M' }], artifacts: []
}

describe('renderRunMarkdown', () => {
  it('shows facts, params, metrics and changed files', () => {
    const text = renderRunMarkdown(run)
    assert.match(text, /^# q\/a/)
    assert.match(text, /\| command \| `python train\.py --lr 0\.1` \|/)
    assert.match(text, /## Params\n\n\| name \| value \|\n\|---\|---\|\n\| lr \| 0\.1 \|/)
    assert.match(text, /- `M` train\.py/)
    assert.match(text, /## Artifacts\n\n_none_/)
  })
})

describe('renderDiffMarkdown', () => {
  const diff: DiffResult = {
    a: 'q/a', b: 'q/b', snapshot_a: 'a'.repeat(40), snapshot_b: 'b'.repeat(40),
    params: [{ key: 'lr', a: 0.1, b: 0.01, changed: true }, { key: 'epochs', a: 5, b: 5, changed: false }],
    metrics: [{ key: 'f1', a: 0.5, b: undefined, changed: true }],
    files: [{ path: 'train.py', status: 'M', patch: '@@' }]
  }

  it('puts both runs side by side and marks what changed', () => {
    const text = renderDiffMarkdown(diff)
    assert.match(text, /\| lr \| 0\.1 \| 0\.01 \| ≠ \|/)
    assert.match(text, /\| epochs \| 5 \| 5 \| {2}\|/)
    assert.match(text, /\| f1 \| 0\.5 \| — \| ≠ \|/)
    assert.match(text, /- `M` train\.py/)
  })

  it('says when both runs used the same code', () => {
    assert.match(renderDiffMarkdown({ ...diff, snapshot_b: diff.snapshot_a, files: [] }), /same code snapshot/)
  })
})
