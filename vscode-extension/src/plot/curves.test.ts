import * as assert from 'assert'
import { decodeCurves } from './curves'

/** base64 of little-endian doubles, as the server writes them */
const base64Of = (values: number[]): string => {
  const bytes = Buffer.alloc(values.length * 8)
  values.forEach((value, index) => bytes.writeDoubleLE(value, index * 8))
  return bytes.toString('base64')
}

describe('decodeCurves', () => {
  it('reads each curve as views into one Float64Array, times only where the curve has them', () => {
    const data = base64Of([0, 1, 2, 1, 0.5, Number.NaN, 100, 101, 102, 5, 0.25])
    const curves = decodeCurves({
      keys: ['loss', 'acc'],
      data,
      curves: [
        { run: 'q/a', key: 'loss', at: 0, count: 3, timed: true },
        { run: 'q/b', key: 'acc', at: 9, count: 1, timed: false }
      ]
    })
    assert.deepEqual(curves.map(c => [c.run, c.key, [...c.steps], [...c.values], c.times && [...c.times]]), [
      ['q/a', 'loss', [0, 1, 2], [1, 0.5, Number.NaN], [100, 101, 102]],
      ['q/b', 'acc', [5], [0.25], undefined]
    ])
    assert.equal(curves[0].steps.buffer, curves[1].values.buffer)  // no copy per curve
  })

  it('refuses a curve that lies outside the data', () => {
    assert.throws(() => decodeCurves({ keys: [], data: base64Of([1, 2]), curves: [{ run: 'q/a', key: 'x', at: 0, count: 2, timed: false }] }), /outside/)
  })
})
