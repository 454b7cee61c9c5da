import { endianness } from 'os'
import type { PackedSeriesResult } from '../languageClient/protocol'
import type { PlotSeries } from './dashboard'

/**
 * The curves of a packed `gitexp/series` answer as views into one Float64Array (no copy
 * per curve): steps, values, then times per curve, little-endian doubles from base64.
 */
export const decodeCurves = ({ curves, data }: PackedSeriesResult): PlotSeries[] => {
  // a fresh ArrayBuffer at offset 0 (Buffer.from may hand out a slice of its pool, unaligned)
  const bytes = new Uint8Array(Buffer.from(data, 'base64'))
  if (endianness() === 'BE') {
    Buffer.from(bytes.buffer).swap64()
  }
  const doubles = new Float64Array(bytes.buffer, 0, Math.floor(bytes.byteLength / 8))
  return curves.map(({ run, key, at, count, timed }) => {
    if (at < 0 || at + count * (timed ? 3 : 2) > doubles.length) {
      throw new Error(`gitexp/series: curve ${run} ${key} lies outside the data`)
    }
    const steps = doubles.subarray(at, at + count)
    const values = doubles.subarray(at + count, at + 2 * count)
    return timed ? { run, key, steps, values, times: doubles.subarray(at + 2 * count, at + 3 * count) } : { run, key, steps, values }
  })
}
