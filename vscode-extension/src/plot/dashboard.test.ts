import { strict as assert } from 'assert'
import { coloursByParam, curveXY, fromMessage, imageAt, imageTags, packSeries, runColour, smooth, thin, toMessage, varyingParams } from './dashboard'

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

describe('images', () => {
  const step = (n: number) => ({ step: n, time: 0, width: 2, height: 2, bytes: 1, uri: `data:image/png;base64,${n}` })
  const images = [
    { run: 'a/x', tag: 'val/recon', logged: 2, steps: [step(0), step(10)] },
    { run: 'a/y', tag: 'val/recon', logged: 2, steps: [step(5), step(10)] },
    { run: 'a/x', tag: 'samples', logged: 1, steps: [step(3)] }
  ]

  it('gives one slider per tag over every step any run logged', () => {
    assert.deepEqual([...imageTags(images)], [['samples', [3]], ['val/recon', [0, 5, 10]]])
  })

  it('shows a run its last image at or before the slider step, else its first', () => {
    assert.equal(imageAt(images[0].steps, 5)?.step, 0)
    assert.equal(imageAt(images[1].steps, 0)?.step, 5)
    assert.equal(imageAt(images[1].steps, 99)?.step, 10)
    assert.equal(imageAt([], 1), undefined)
  })
})

describe('thin', () => {
  it('keeps short curves whole and a long one within budget, spikes and ends included', () => {
    const short: [number, number][] = [[0, 1], [1, 2]]
    assert.equal(thin(short, 10), short)
    const long: [number, number][] = Array.from({ length: 10_000 }, (_, step) => [step, step === 4321 ? 99 : 1])
    const kept = thin(long, 300)
    assert.ok(kept.length <= 301, `${kept.length} points`)
    assert.deepEqual(kept[0], [0, 1])
    assert.deepEqual(kept[kept.length - 1], [9999, 1])
    assert.ok(kept.some(point => point[1] === 99))
    assert.ok(kept.every((point, index) => index === 0 || point[0] > kept[index - 1][0]))
  })
})

describe('packSeries and curveXY', () => {
  it('packs a curve into typed columns, thinned, times NaN where a point has none', () => {
    const packed = packSeries({ run: 'q/a', key: 'loss', points: [[0, 1, 100], [1, 0.5], [2, 0.25, 102]] })
    assert.ok(packed.steps instanceof Float64Array && packed.values instanceof Float64Array)
    assert.deepEqual([...packed.steps], [0, 1, 2])
    assert.deepEqual([...packed.values], [1, 0.5, 0.25])
    assert.deepEqual([...(packed.times ?? [])], [100, Number.NaN, 102])
    assert.equal(packSeries({ run: 'q/a', key: 'loss', points: [[0, 1]] }).times, undefined)
    const long = Array.from({ length: 10_000 }, (_, step): [number, number] => [step, 1])
    assert.ok(packSeries({ run: 'q/a', key: 'loss', points: long }, 300).steps.length <= 301)
  })

  it('gives ECharts flat x, y pairs: by step or by seconds from the first point, in x order', () => {
    const packed = packSeries({ run: 'q/a', key: 'loss', points: [[2, 0.25, 110], [0, 1, 100], [1, Number.NaN, 105], [3, -1]] })
    assert.deepEqual([...curveXY(packed, 'step', false, 0)], [0, 1, 2, 0.25, 3, -1])
    assert.deepEqual([...curveXY(packed, 'time', false, 0)], [0, 1, 10, 0.25])  // no time: left out
    assert.deepEqual([...curveXY(packed, 'step', true, 0)], [0, 1, 2, 0.25, 3, Number.NaN])  // log: a gap
    assert.equal(curveXY(packSeries({ run: 'q/a', key: 'loss', points: [[0, 1]] }), 'time', false, 0).length, 0)
  })
})

describe('toMessage and fromMessage', () => {
  it('carries every curve in one Float64Array and reads them back as they were', () => {
    const series = [
      packSeries({ run: 'q/a', key: 'loss', points: [[0, 1, 100], [1, 0.5, 101]] }),
      packSeries({ run: 'q/b', key: 'loss', points: [[0, 2], [1, 1], [2, 0.5]] }),
      packSeries({ run: 'q/b', key: 'acc', points: [] })
    ]
    const data = { title: 't', runs: [], keys: ['loss', 'acc'], series, selected: [], live: false, images: [] }
    const message = toMessage(data)
    assert.ok(message.curves.data instanceof Float64Array)
    assert.equal(message.curves.data.length, 2 * 3 + 3 * 2)
    assert.equal('series' in message, false)
    const back = fromMessage(structuredClone(message))
    assert.deepEqual(back.series.map(item => [item.run, item.key, [...item.steps], [...item.values], item.times && [...item.times]]), [
      ['q/a', 'loss', [0, 1], [1, 0.5], [100, 101]],
      ['q/b', 'loss', [0, 1, 2], [2, 1, 0.5], undefined],
      ['q/b', 'acc', [], [], undefined]
    ])
  })
})
