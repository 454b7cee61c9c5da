import { strict as assert } from 'assert'
import type { DiffResult } from '../languageClient/protocol'
import { collectFileDiffs } from './compare'

const diff = (files: number, same = false): DiffResult => ({
  a: 'q/a', b: 'q/b', snapshot_a: 'x', snapshot_b: same ? 'x' : 'y', params: [], metrics: [],
  files: Array.from({ length: files }, (_, i) => ({ path: `f${i}.py`, status: 'M' }))
})

describe('collectFileDiffs', () => {
  it('opens one diff per changed file, a on the left', () => {
    assert.deepEqual(collectFileDiffs(diff(2), 10), {
      diffs: [
        { path: 'f0.py', left: 'q/a', right: 'q/b' },
        { path: 'f1.py', left: 'q/a', right: 'q/b' }
      ],
      skipped: 0
    })
  })

  it('caps the number of editors and counts the rest', () => {
    const { diffs, skipped } = collectFileDiffs(diff(12), 10)
    assert.equal(diffs.length, 10)
    assert.equal(skipped, 2)
  })

  it('opens nothing when both runs share a snapshot', () => {
    assert.deepEqual(collectFileDiffs(diff(3, true), 10), { diffs: [], skipped: 0 })
  })
})
