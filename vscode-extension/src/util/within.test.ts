import { strict as assert } from 'assert'
import { within } from './within'

describe('within', () => {
  it('gives an answer that comes in time, even an undefined one', async () => {
    assert.deepEqual(await within(Promise.resolve(3), 1000), { value: 3 })
    assert.deepEqual(await within(Promise.resolve(undefined), 1000), { value: undefined })
  })

  it('gives nothing for an answer that comes later', async () => {
    assert.equal(await within(new Promise(resolve => setTimeout(() => resolve(1), 200)), 10), undefined)
  })

  it('passes on a failure that comes in time', async () => {
    await assert.rejects(within(Promise.reject(new Error('no')), 1000), /no/)
  })
})
