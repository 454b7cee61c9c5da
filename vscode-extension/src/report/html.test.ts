import { strict as assert } from 'assert'
import type { DiffResult, RunDetail } from '../languageClient/protocol'
import { renderCompareHtml, renderRunHtml, sideBySide } from './html'

const detail = (name: string, params: RunDetail['params'], metrics: RunDetail['metrics']): RunDetail => ({
  run: `q/${name}`, sweep: 'q', name, status: 'completed', command: `python train.py --name <${name}>`,
  params, metrics, commit: 'c'.repeat(40), snapshot: 's'.repeat(40), files: [{ path: 'train.py', status: 'M' }],
  artifacts: [], record: { tags: { star: true, note: 'x' } }
})

describe('renderRunHtml', () => {
  it('renders facts, params, metrics, tags and files, escaping record text', () => {
    const html = renderRunHtml(detail('a', { lr: 0.1 }, { acc: 0.9 }), '/r')
    assert.match(html, /<h1>q\/a<\/h1>/)
    assert.match(html, /python train\.py --name &lt;a&gt;/)
    assert.match(html, /<th scope="row">lr<\/th><td class="number">0\.1<\/td>/)
    assert.match(html, /star note=x/)
    assert.match(html, /command:gitexp\.openRunFile\?/)
    assert.doesNotMatch(html, /<a>/)
  })
})

describe('renderCompareHtml', () => {
  const runs = [detail('a', { lr: 0.1, e: 5 }, { acc: 0.9 }), detail('b', { lr: 0.01, e: 5 }, {}), detail('c', { lr: 0.1, e: 5 }, { acc: 0.8 })]

  it('puts 3 runs side by side and highlights the keys that differ', () => {
    const rows = sideBySide(runs, run => run.params)
    assert.deepEqual(rows.map(row => [row.key, row.differs]), [['e', false], ['lr', true]])
    const html = renderCompareHtml('/r', runs, [])
    assert.match(html, /q\/a ↔ q\/b ↔ q\/c/)
    assert.match(html, /1 of 2 differ/)
    assert.match(html, /<tr class="differs"><th scope="row">acc<\/th><td class="number">0\.9<\/td><td><span class="missing">—/)
  })

  it('shows each changed file as a patch with a diff-editor link', () => {
    const diff: DiffResult = {
      a: 'q/a', b: 'q/b', snapshot_a: 'a'.repeat(40), snapshot_b: 'b'.repeat(40), params: [], metrics: [],
      files: [{ path: 'train.py', status: 'M', patch: '@@ -1 +1 @@\n-x = 1\n+x = <2>' }]
    }
    const html = renderCompareHtml('/r', runs.slice(0, 2), [diff, { ...diff, b: 'q/c', snapshot_b: diff.snapshot_a, files: [] }])
    assert.match(html, /<span class="del">-x = 1<\/span>/)
    assert.match(html, /<span class="add">\+x = &lt;2&gt;<\/span>/)
    assert.match(html, /command:gitexp\.openDiff\?/)
    assert.match(html, /Same code snapshot/)
  })
})
