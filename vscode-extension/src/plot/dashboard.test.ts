import { strict as assert } from 'assert'
import { coloursByParam, runColour, smooth, varyingParams } from './dashboard'

const run = (name: string, params: Record<string, number | string>) => ({ run: `q/${name}`, status: 'completed', params, metrics: {} })

describe('smooth', () => {
  it('leaves values alone at weight 0 and debiases the first point', () => {
    assert.deepEqual(smooth([1, 2, 3], 0), [1, 2, 3])
    const out = smooth([1, 1, 1], 0.9)
    out.forEach(value => assert.ok(Math.abs(value - 1) < 1e-9))
  })
})

describe('colours', () => {
  it('gives 50 runs 50 different colours', () => {
    assert.equal(new Set(Array.from({ length: 50 }, (_, index) => runColour(index))).size, 50)
  })

  it('colours by a numeric param along a ramp and by a text param per value', () => {
    const runs = [run('a', { lr: 0.001, opt: 'sgd' }), run('b', { lr: 0.1, opt: 'adam' }), run('c', { lr: 0.1, opt: 'sgd' })]
    const byLr = coloursByParam(runs, 'lr')
    assert.notEqual(byLr.get('q/a'), byLr.get('q/b'))
    assert.equal(byLr.get('q/b'), byLr.get('q/c'))
    const byOpt = coloursByParam(runs, 'opt')
    assert.equal(byOpt.get('q/a'), byOpt.get('q/c'))
    assert.notEqual(byOpt.get('q/a'), byOpt.get('q/b'))
  })
})

describe('varyingParams', () => {
  it('lists only params that differ', () => {
    assert.deepEqual(varyingParams([run('a', { lr: 1, e: 5 }), run('b', { lr: 2, e: 5 })]), ['lr'])
  })
})
