import { strict as assert } from 'assert'
import { defaultKeys } from './collect'

describe('defaultKeys', () => {
  it('preselects the preferred keys first, at most max', () => {
    assert.deepEqual(defaultKeys(['a', 'b', 'c', 'd', 'e'], ['d', 'created', ''], 3), ['d', 'a', 'b'])
  })
})
