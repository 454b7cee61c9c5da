import { strict as assert } from 'assert'
import type { DiffResult, RunDetail } from '../languageClient/protocol'
import { imagesSection, renderCompareHtml, renderRunHtml, sideBySide } from './html'

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
    assert.doesNotMatch(html, /<h2>Images/)  // none logged: no section
  })

  it('shows the images a run logged, per tag and step, only as data:image URIs', () => {
    const png = 'data:image/png;base64,iVBORw0KGgo='
    const images = [{
      run: 'q/a', tag: 'samples/<x>', logged: 12,
      steps: [
        { step: 0, time: 1, width: 32, height: 32, bytes: 10, uri: png },
        { step: 5, time: 2, width: 32, height: 32, bytes: 10, uri: 'javascript:alert(1)' },
        { step: 11, time: 3, width: 32, height: 32, bytes: 10, uri: null }
      ]
    }]
    const html = renderRunHtml(detail('a', {}, {}), '/r', images)
    assert.match(html, /<h2>Images<\/h2>/)
    assert.match(html, /<section class="image-tag" data-tag="samples\/&lt;x&gt;"><h3>samples\/&lt;x&gt; <small>3 of 12 steps/)
    assert.equal(html.match(/<img /g)?.length, 1)
    assert.match(html, /<img src="data:image\/png;base64,iVBORw0KGgo=" alt="samples\/&lt;x&gt; step 0" data-step="0">/)
    assert.doesNotMatch(html, /javascript:/)
    assert.match(html, /step 11 · 32×32<\/figcaption>/)
    assert.equal(imagesSection([]), '')
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
