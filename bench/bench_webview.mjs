// The extension's two heavy webviews alone, in headless Chromium (no editor): the plots
// dashboard's first draw and redraws of 100 runs x 1,000 points, and the experiments table's
// first rows, sort and filter at 10,000 runs, and its page's start to the first rows painted
// (the first page in the HTML, as a reopened table gets it, or posted when the page says
// ready, as a first open does). The page is the real bundle (dist/webview/*.js)
// in the panel's own HTML; messages arrive as VS Code delivers them (the extension host's
// JSON, parsed in the page, then posted to the webview's window). Prints medians; no
// pass/fail (the goals are in bench/benchmarks.md).
//
// Usage (after `node esbuild.mjs --production` in vscode-extension/: the bundles as the .vsix
// ships them, as the floor is built; a development build is timed too, with a warning):
//   node bench/bench_webview.mjs [--dist DIR[@points]]... [--rounds N] [--only plot|table]
//     [--profile FILE] [--profile-sort FILE] [--profile-first FILE]
//     (CPU profiles of a first draw, of a numeric sort, of the table's first rows) [--no-floor]
// Each --dist is a built dist/ folder (default: this checkout's); with two, they alternate
// round by round, so load on a shared machine falls on both alike. `@points`: a bundle from
// before curves travelled packed in one Float64Array (main before issue 16's third pass),
// sent curves as [step, value, time] arrays. `@rows-in-reset`: the table's first page sent
// inside its 'reset' message (tried; slower to paint). Flags combine: `DIR@points,rows-in-reset`.
import { existsSync, mkdtempSync, readFileSync, writeFileSync, cpSync, rmSync } from 'fs'
import { tmpdir, loadavg } from 'os'
import { join, dirname, resolve } from 'path'
import { fileURLToPath } from 'url'
import { createRequire } from 'module'

const here = dirname(fileURLToPath(import.meta.url))
const ext = resolve(here, '..', 'vscode-extension')
const { chromium } = createRequire(join(ext, 'package.json'))('playwright-core')

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const values = args.flatMap((arg, index) => (arg === name ? [args[index + 1]] : []))
  return values.length ? values : fallback
}
const dists = option('--dist', [join(ext, 'dist')]).map(spec => {
  const [dir, flags = ''] = spec.split('@')
  const flag = flags.split(',')
  return { dir: resolve(dir), format: flag.includes('points') ? 'points' : 'packed', rowsInReset: flag.includes('rows-in-reset') }
})
// The floor, measured in the same run unless --no-floor: AG Grid and ECharts alone doing the
// same job with none of gitexp's code (webview_floor/), bundled here from the extension's
// node_modules. Every figure of a --dist is also printed as a ratio to it.
const floorDir = args.includes('--no-floor') ? undefined : mkdtempSync(join(tmpdir(), 'gitexp-webview-floor-'))
if (floorDir) {
  const esbuild = createRequire(join(ext, 'package.json'))('esbuild')
  for (const [entry, out] of [['table', 'experiments'], ['plot', 'plot']]) {
    esbuild.buildSync({
      entryPoints: [join(here, 'webview_floor', `${entry}.js`)], outfile: join(floorDir, 'webview', `${out}.js`),
      bundle: true, minify: true, format: 'iife', platform: 'browser', target: 'es2020',
      nodePaths: [join(ext, 'node_modules')], define: { 'process.env.NODE_ENV': '"production"' }, logLevel: 'error'
    })
  }
  dists.push({ dir: floorDir, format: 'packed', rowsInReset: false, floor: true })
}
for (const { dir } of dists) {
  if (existsSync(join(dir, 'webview', 'experiments.js.map'))) {
    console.log(`warning: ${dir} is a development build (unminified, AG Grid's ValidationModule on): slower than the .vsix's and the floor's`)
  }
}
const rounds = Number(option('--rounds', ['5'])[0])
const only = option('--only', [undefined])[0]
const profile = option('--profile', [undefined])[0]
const profileSort = option('--profile-sort', [undefined])[0]
const profileFirst = option('--profile-first', [undefined])[0]

/** The panel's HTML body and style, read from its source (the bench must not drift from it). */
const panelPart = (file, name) => {
  const text = readFileSync(join(ext, 'src', file), 'utf8')
  const match = new RegExp(`const ${name} = \`([\\s\\S]*?)\``).exec(text)
  if (!match) throw new Error(`no ${name} in ${file}`)
  return match[1]
}

const made = []  // the pages' folders, removed at the end
/**
 * A page as the panel writes it. `first`: the table's first messages, in the HTML (as panel.ts
 * writes a reopened table's page) or, with `posted`, delivered when the page says `ready` (as
 * for a first open, the server still answering; a bundle that reads no first messages from its
 * HTML gets them so too).
 */
const page = (dist, script, file, { first, posted = false } = {}) => {
  const dir = mkdtempSync(join(tmpdir(), 'gitexp-webview-bench-'))
  made.push(dir)
  cpSync(join(dist, 'webview', `${script}.js`), join(dir, `${script}.js`))
  const inHtml = first && !posted ? `<script type="application/json" id="first-messages">${JSON.stringify(first).replace(/</g, '\\u003c')}</script>` : ''
  writeFileSync(join(dir, 'index.html'), `<!DOCTYPE html><html><head><meta charset="UTF-8">
<style>body { font-family: sans-serif; font-size: 13px; padding: 0 16px 16px; margin: 0; } ${panelPart(file, 'STYLE')}</style></head>
<body>${panelPart(file, 'BODY')}${inHtml}
<script>
  window.sent = []
  window.first = ${JSON.stringify(first ? JSON.stringify(first) : null)}
  window.acquireVsCodeApi = () => ({ postMessage: message => {
    window.sent.push(message)
    if (message.type === 'ready' && window.first && !JSON.parse(document.body.dataset.loaded ?? '{}').firstMessagesInHtml) {
      setTimeout(() => JSON.parse(window.first).forEach(first => window.postMessage(first, '*')))
    }
  } })
  /**
   * As a webview gets a message: the extension host sends JSON with typed arrays cut out as
   * binary buffers (VS Code's serializeWebviewMessage); the editor parses the JSON, puts a
   * copy of each buffer back as its typed array, and posts the result into the webview.
   */
  window.buffers = []
  window.deliver = text => window.postMessage(JSON.parse(text, (key, value) =>
    value && typeof value === 'object' && '$$vscode_array_buffer_reference$$' in value
      ? new Float64Array(window.buffers[value.$$vscode_array_buffer_reference$$].slice(0))
      : value), '*')
  window.painted = () => new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)))
  // the bench's own clock for bundles without paintedMs: the last click or keystroke event
  for (const type of ['click', 'keydown', 'input']) {
    window.addEventListener(type, () => (window.lastEventAt = performance.now()), { capture: true })
  }
</script>
<script src="${script}.js"></script></body></html>`)
  return `file://${join(dir, 'index.html')}`
}

const median = values => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : NaN
}

// --- data -----------------------------------------------------------------------------
/** 100 runs x 1,000 points of loss, as the extension posts them (`format`: see --dist). */
const plotMessage = (format, runs = 100, points = 1000) => {
  const curves = Array.from({ length: runs }, (_, index) =>
    Array.from({ length: points }, (_, step) => [step, 1 / (1 + 0.01 * (index + 1) * step) + 0.01 * Math.sin(step + index), 1.7e9 + step * 0.5]))
  const data = {
    title: `gitexp: ${runs} runs`,
    runs: Array.from({ length: runs }, (_, index) => ({
      run: `long/run${index}`, status: 'completed',
      params: { lr: 10 ** -(1 + (index % 4)), seed: index }, metrics: { loss: 1 / (1 + index) }
    })),
    keys: ['loss'],
    selected: ['loss'], live: false, images: []
  }
  if (format === 'points') {
    data.series = curves.map((curve, index) => ({ run: `long/run${index}`, key: 'loss', points: curve }))
  } else {
    // dashboard.ts packCurves: one Float64Array, per curve its steps, values and times
    const packed = new Float64Array(runs * points * 3)
    data.curves = {
      data: packed,
      index: curves.map((curve, index) => {
        const at = index * points * 3
        ;[0, 1, 2].forEach(column => packed.set(Float64Array.from(curve, point => point[column]), at + column * points))
        return { run: `long/run${index}`, key: 'loss', at, count: points, timed: true }
      })
    }
  }
  const buffers = []
  const text = JSON.stringify({ type: 'data', data }, (key, value) => {
    if (value instanceof Float64Array) {
      buffers.push([...value])
      return { $$vscode_array_buffer_reference$$: buffers.length - 1 }
    }
    return value
  })
  return { text, buffers }
}

const tableColumns = [
  { kind: 'param', key: 'lr', type: 'DOUBLE' }, { kind: 'param', key: 'batch', type: 'BIGINT' },
  { kind: 'param', key: 'optim', type: 'VARCHAR' }, { kind: 'param', key: 'seed', type: 'BIGINT' },
  { kind: 'metric', key: 'acc', type: 'DOUBLE' }, { kind: 'metric', key: 'loss', type: 'DOUBLE' },
  { kind: 'metric', key: 'val/acc', type: 'DOUBLE' }
]
const tableRows = count => Array.from({ length: count }, (_, index) => ({
  run: `sweep${index % 10}/run${index}`, sweep: `sweep${index % 10}`, name: `run${index}`,
  status: index % 17 === 0 ? 'failed' : 'completed', created: new Date(1.7e12 + index * 60_000).toISOString(),
  duration: 30 + (index % 300), exit_code: index % 17 === 0 ? 1 : 0,
  params: { lr: [0.1, 0.01, 0.001, 0.0001][index % 4], batch: [32, 64, 128][index % 3], optim: ['sgd', 'adam'][index % 2], seed: index },
  metrics: { acc: ((index * 7919) % 1000) / 1000, loss: ((index * 104729) % 997) / 997, 'val/acc': ((index * 31) % 1000) / 1000 },
  tags: {}
}))

// --- the two benches ---------------------------------------------------------------------
/** One fresh page per round: the first post (a fresh webview's first draw), then two redraws. */
const plotPage = async (browser, url, buffers) => {
  const tab = await browser.newPage({ viewport: { width: 1600, height: 1000 } })
  await tab.goto(url)
  await tab.waitForFunction(() => window.sent.some(message => message.type === 'ready'))
  await tab.evaluate(buffers => { window.buffers = buffers.map(values => Float64Array.from(values).buffer) }, buffers)
  return tab
}

const benchPlot = async (browser, url, { text, buffers }) => {
  const tab = await plotPage(browser, url, buffers)
  const draws = []
  for (let post = 0; post < 3; post++) {  // the same title again: a redraw (posts 2 and 3)
    draws.push(await tab.evaluate(async text => {
      const started = performance.now()
      window.deliver(text)
      await new Promise(resolve => setTimeout(resolve, 0))  // the message handler
      await window.painted()
      if (Number(document.body.dataset.points) < 100_000) throw new Error(`drew ${document.body.dataset.points} points`)
      return { total: performance.now() - started, render: Number(document.body.dataset.drawMs) }
    }, text))
  }
  await tab.close()
  return draws
}

const benchTable = async (browser, url, rows, profileTo, profileFirstTo, rowsInReset) => {
  const tab = await browser.newPage({ viewport: { width: 1600, height: 1000 } })
  await tab.goto(url)
  await tab.waitForFunction(() => window.sent.some(message => message.type === 'ready'))
  const loaded = JSON.parse(await tab.evaluate(() => document.body.dataset.loaded ?? '{}'))
  const first = profileFirstTo && (await tab.context().newCDPSession(tab))
  if (first) {
    await first.send('Profiler.enable')
    await first.send('Profiler.setSamplingInterval', { interval: 100 })
    await first.send('Profiler.start')
  }
  // as panel.ts sends them: a first page of 200, then pages of 2,500 (`rowsInReset`: the first
  // page inside the 'reset' message, a layout tried and dropped)
  const firstPage = rows.slice(0, 200)
  const reset = JSON.stringify({ type: 'reset', total: rows.length, columns: tableColumns, where: '', ...(rowsInReset ? { rows: firstPage } : {}) })
  const pages = [firstPage, ...Array.from({ length: Math.ceil((rows.length - 200) / 2500) }, (_, i) => rows.slice(200 + i * 2500, 200 + (i + 1) * 2500))]
    .map(page => JSON.stringify({ type: 'rows', rows: page, columns: tableColumns, total: rows.length }))
  const firstRows = await tab.evaluate(async ([reset, first]) => {
    const started = performance.now()
    window.deliver(reset)
    if (first) window.deliver(first)
    for (;;) {
      await window.painted()
      if (document.querySelector('#grid .ag-row[row-index="0"] .ag-cell[col-id="run"]')) return performance.now() - started
    }
  }, [reset, rowsInReset ? undefined : pages[0]])
  if (first) {
    writeFileSync(profileFirstTo, JSON.stringify((await first.send('Profiler.stop')).profile))
  }
  const allRows = await tab.evaluate(async pages => {
    const started = performance.now()
    for (const page of pages) {
      window.deliver(page)
      await new Promise(resolve => setTimeout(resolve, 0))
    }
    await window.painted()
    return performance.now() - started
  }, pages.slice(1))
  /** `act`, then wait for `done`. `page`: from the click or keystroke event to the frame after
   * the new rows, by the webview's own clock (`paintedMs`), or for a bundle without it by ours
   * (once `done` is seen: up to a frame later); `grid`: to AG Grid's new row model. */
  const answer = async (what, act, done) => {
    await tab.evaluate(() => { delete document.body.dataset.answerMs; delete document.body.dataset.paintedMs })
    await act()
    await tab.waitForFunction(done)
    const seen = await tab.evaluate(() => new Promise(resolve => requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - window.lastEventAt)))))
    const own = await tab.waitForFunction(() => document.body.dataset.paintedMs, undefined, { timeout: 1000 }).then(() => true, () => false)
    const page = own ? Number(await tab.evaluate(() => document.body.dataset.paintedMs)) : Math.round(seen)
    return { what, page, own, grid: Number(await tab.evaluate(() => document.body.dataset.answerMs)) }
  }
  const header = col => tab.locator(`.ag-header-cell[col-id="${col}"] .ag-header-cell-label`)
  const cdp = profileTo && (await tab.context().newCDPSession(tab))
  if (cdp) {
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
    await cdp.send('Profiler.start')
  }
  const results = [
    await answer('numeric sort', () => header('metrics.acc').click(), () => document.querySelector('.ag-header-cell[col-id="metrics.acc"][aria-sort="ascending"]')),
    ...(cdp ? [writeFileSync(profileTo, JSON.stringify((await cdp.send('Profiler.stop')).profile))].slice(1) : []),
    await answer('second sort key', () => header('params.batch').click({ modifiers: ['Shift'] }), () => document.querySelector('.ag-header-cell[col-id="params.batch"][aria-sort="ascending"]')),
    await answer('text sort', () => header('run').click(), () => document.querySelector('.ag-header-cell[col-id="run"][aria-sort="ascending"]'))
  ]
  const filter = tab.locator('.ag-floating-filter input[aria-label^="lr "]').first()
  results.push(await answer('number filter', () => filter.fill('0.1'), () => /· 2500 shown/.test(document.querySelector('#count')?.textContent ?? '')))
  results.push(await answer('filter cleared', () => filter.fill(''), () => /· 10000 shown/.test(document.querySelector('#count')?.textContent ?? '')))
  const inDom = await tab.evaluate(() => new Set([...document.querySelectorAll('.ag-row[row-index]')].map(row => row.getAttribute('row-index'))).size)
  await tab.close()
  return { loaded, firstRows, allRows, results, inDom }
}

/**
 * A table page's start to its first rows painted (the frame after them), nothing measured by
 * the webview's own clock: with the first messages in the HTML (a reopened table) or posted
 * on `ready` (a first open).
 */
const benchTableStart = async (browser, dir, rows, posted) => {
  const first = [
    { type: 'reset', total: rows.length, columns: tableColumns, where: '' },
    { type: 'rows', rows: rows.slice(0, 200), columns: tableColumns, total: rows.length }
  ]
  const tab = await browser.newPage({ viewport: { width: 1600, height: 1000 } })
  await tab.goto(page(dir, 'experiments', 'experiments/panel.ts', { first, posted }))
  const painted = await tab.evaluate(() => new Promise(resolve => {
    const poll = () => document.querySelector('#grid .ag-row[row-index="0"] .ag-cell[col-id="run"]')
      ? requestAnimationFrame(() => setTimeout(() => resolve(performance.now())))
      : requestAnimationFrame(poll)
    poll()
  }))
  await tab.close()
  return painted
}

// --- main --------------------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking']
})
console.log(`load average before: ${loadavg().map(n => n.toFixed(2)).join(' ')}`)
try {
  const messages = { points: plotMessage('points'), packed: plotMessage('packed') }
  const rows = tableRows(10_000)
  const figures = dists.map(() => ({ plot: [], table: [], start: [] }))
  for (let round = 0; round < rounds; round++) {
    for (const [index, { dir, format, rowsInReset }] of dists.entries()) {
      if (only !== 'table') figures[index].plot.push(await benchPlot(browser, page(dir, 'plot', 'plot/panel.ts'), messages[format]))
      const profileTo = round === rounds - 1 && index === 0 ? profileSort : undefined
      const firstTo = round === rounds - 1 && index === 0 ? profileFirst : undefined
      if (only !== 'plot') {
        figures[index].table.push(await benchTable(browser, page(dir, 'experiments', 'experiments/panel.ts'), rows, profileTo, firstTo, rowsInReset))
        figures[index].start.push({ posted: await benchTableStart(browser, dir, rows, true), inHtml: await benchTableStart(browser, dir, rows, false) })
      }
    }
  }
  if (profile) {
    // a CPU profile of one fresh first draw (open in Chrome's DevTools, Performance tab)
    const { text, buffers } = messages[dists[0].format]
    const tab = await plotPage(browser, page(dists[0].dir, 'plot', 'plot/panel.ts'), buffers)
    const cdp = await tab.context().newCDPSession(tab)
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
    await cdp.send('Profiler.start')
    await tab.evaluate(async text => { window.deliver(text); await new Promise(r => setTimeout(r, 0)); await window.painted() }, text)
    writeFileSync(profile, JSON.stringify((await cdp.send('Profiler.stop')).profile))
    await tab.close()
  }
  for (const [format, { text, buffers }] of Object.entries(messages)) {
    console.log(`plot message as ${format}: ${(text.length / 1e6).toFixed(2)} MB of JSON and ${buffers.length} buffers (100 runs x 1,000 points)`)
  }
  const floorAt = dists.findIndex(dist => dist.floor)
  const floorOf = floorAt < 0 ? undefined : figures[floorAt]
  /** ` (1.23x floor)`: a figure against the same figure of the floor, when there is one */
  const vs = (ms, floorMs, isFloor) => (floorMs === undefined || isFloor ? '' : ` (${(ms / floorMs).toFixed(2)}x floor)`)
  for (const [index, { dir, format, floor: isFloor }] of dists.entries()) {
    const { plot, table, start } = figures[index]
    console.log(isFloor ? '\n== floor: AG Grid and ECharts alone (bench/webview_floor/), same data, viewport and run; its page start is always posted on ready' : `\n== ${dir} (curves as ${format})`)
    const ofFloor = pick => (floorOf ? pick(floorOf) : undefined)
    if (plot.length) {
      const first = plots => median(plots.map(draws => draws[0].total))
      const redraw = plots => median(plots.map(draws => draws[1].total))
      const ms = (post, field) => median(plot.map(draws => draws[post][field])).toFixed(0)
      console.log(`plot 100 x 1,000, message -> painted, median of ${plot.length}: first ${first(plot).toFixed(0)} ms${vs(first(plot), ofFloor(f => first(f.plot)), isFloor)} (render ${ms(0, 'render')}), redraw ${redraw(plot).toFixed(0)}${vs(redraw(plot), ofFloor(f => redraw(f.plot)), isFloor)} / ${ms(2, 'total')} ms`)
      console.log(`  first draws: ${plot.map(draws => draws[0].total.toFixed(0)).join(' ')}`)
    }
    if (table.length) {
      if (table[0].loaded.done !== undefined) {
        console.log(`table page load -> script ran ${median(table.map(t => t.loaded.script)).toFixed(0)} ms, -> script done (grid made) ${median(table.map(t => t.loaded.done)).toFixed(0)} ms`)
      }
      const starts = (figure, mode) => figure.start.map(one => one[mode])
      const startMs = (figure, mode) => median(starts(figure, mode))
      const listed = mode => starts(figures[index], mode).map(ms => ms.toFixed(0)).join(' ')
      // the floor reads no first page from its HTML: it gets it on ready either way, so both
      // ratios are to its posted start
      const inHtml = isFloor ? '' : `first page in the HTML ${startMs(figures[index], 'inHtml').toFixed(0)} ms${vs(startMs(figures[index], 'inHtml'), ofFloor(f => startMs(f, 'posted')))} [${listed('inHtml')}], `
      console.log(`table page start -> first rows painted, median of ${start.length}: ${inHtml}posted on ready ${startMs(figures[index], 'posted').toFixed(0)} ms${vs(startMs(figures[index], 'posted'), ofFloor(f => startMs(f, 'posted')), isFloor)} [${listed('posted')}]`)
      const firstRows = figure => median(figure.table.map(t => t.firstRows))
      console.log(`table 10,000 rows, median of ${table.length}: first rows ${firstRows(figures[index]).toFixed(0)} ms after the first message${vs(firstRows(figures[index]), ofFloor(firstRows), isFloor)}; all rows ${median(table.map(t => t.allRows)).toFixed(0)} ms more; ${table[0].inDom} rows in the DOM`)
      for (const [at, { what }] of table[0].results.entries()) {
        const pageMs = figure => figure.table.map(t => t.results[at].page)
        const clock = table[0].results[at].own ? "webview's clock" : "bench's clock"
        const mine = median(pageMs(figures[index]))
        console.log(`  ${what.padEnd(16)} event -> painted ${mine} ms${vs(mine, ofFloor(f => median(pageMs(f))), isFloor)} (${clock}; -> row model ${median(table.map(t => t.results[at].grid))} ms)  [${pageMs(figures[index]).join(' ')}]`)
      }
    }
  }
} finally {
  await browser.close()
  for (const dir of [...made, floorDir].filter(Boolean)) rmSync(dir, { recursive: true, force: true })
  console.log(`\nload average after: ${loadavg().map(n => n.toFixed(2)).join(' ')}`)
}
