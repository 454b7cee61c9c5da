// The experiments table's webview alone in headless Chromium, built for development (esbuild.mjs
// without --production registers AG Grid's ValidationModule, which names a feature whose module
// is not registered, or an option it does not know): every control of the table is used once,
// and the run fails on any error the page logs or any answer that is not the expected one.
// The editor-driven test (test.mjs) covers the table with the real server; this one covers
// what it does not click (search, columns chooser, CSV, brushing, removal, resize, move).
//
// Usage: node e2e/table-webview.mjs DIST   (DIST: a development build's dist/ folder)
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { dirname, join, resolve } from 'path'
import { fileURLToPath } from 'url'
import { createRequire } from 'module'

const ext = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const { chromium } = createRequire(join(ext, 'package.json'))('playwright-core')
const dist = resolve(process.argv[2] ?? join(ext, 'dist'))

/** The panel's HTML body and style, from its source (this page must not drift from it). */
const panelPart = name => {
  const match = new RegExp(`const ${name} = \`([\\s\\S]*?)\``).exec(readFileSync(join(ext, 'src/experiments/panel.ts'), 'utf8'))
  if (!match) throw new Error(`no ${name} in panel.ts`)
  return match[1]
}

const columns = [
  { kind: 'param', key: 'lr', type: 'DOUBLE' }, { kind: 'param', key: 'optim', type: 'VARCHAR' },
  { kind: 'metric', key: 'acc', type: 'DOUBLE' }, { kind: 'tag', key: 'note', type: 'VARCHAR' }
]
const rows = Array.from({ length: 500 }, (_, index) => ({
  run: `sweep${index % 10}/run${index}`, sweep: `sweep${index % 10}`, name: `run${index}`,
  status: index % 17 === 0 ? 'failed' : 'completed', created: new Date(1.7e12 + index * 60_000).toISOString(),
  duration: 30 + (index % 300), exit_code: index % 17 === 0 ? 1 : 0,
  params: { lr: [0.1, 0.01][index % 2], optim: ['sgd', 'adam'][index % 2] },
  // strings and NaN among the numbers: shown as such, sorting still works
  metrics: { acc: index % 7 === 0 ? 'NaN' : index % 11 === 0 ? 'diverged' : (index % 1000) / 1000 },
  tags: index % 5 ? {} : { star: true, note: 'x' }
}))
const reset = { type: 'reset', total: rows.length, columns, where: '' }
const rowsMessage = { type: 'rows', rows, columns, total: rows.length }

const dir = mkdtempSync(join(tmpdir(), 'gitexp-table-webview-'))
cpSync(join(dist, 'webview', 'experiments.js'), join(dir, 'experiments.js'))
const html = firstMessages => `<!DOCTYPE html><html><head><meta charset="UTF-8"><style>${panelPart('STYLE')}</style></head>
<body>${panelPart('BODY')}${firstMessages ? `<script type="application/json" id="first-messages">${JSON.stringify(firstMessages).replace(/</g, '\\u003c')}</script>` : ''}
<script>window.sent = []; window.acquireVsCodeApi = () => ({ postMessage: message => window.sent.push(message) })</script>
<script src="experiments.js"></script></body></html>`
writeFileSync(join(dir, 'posted.html'), html(undefined))
writeFileSync(join(dir, 'in-html.html'), html([reset, rowsMessage]))

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking']
})
const failures = []
try {
  const tab = await browser.newPage({ viewport: { width: 1600, height: 900 } })
  const logged = []
  tab.on('console', message => ['error', 'warning'].includes(message.type()) && logged.push(`${message.type()}: ${message.text().split('\n')[0]}`))
  tab.on('pageerror', error => logged.push(`uncaught: ${error.message}`))
  const post = message => tab.evaluate(message => window.postMessage(message, '*'), message)
  const count = () => tab.locator('#count').textContent()
  const header = col => tab.locator(`.ag-header-cell-sortable[col-id="${col}"] .ag-header-cell-label`)
  const filterBox = label => tab.locator(`.ag-floating-filter input[aria-label^="${label} "]`).first()
  const expectCount = async (pattern, what) => {
    await tab.waitForFunction(pattern => new RegExp(pattern).test(document.querySelector('#count')?.textContent ?? ''), pattern.source, { timeout: 5000 })
      .catch(async () => failures.push(`${what}: count says "${await count()}", expected ${pattern}`))
  }
  const step = async (what, act) => {
    const before = logged.length
    try {
      await act()
    } catch (error) {
      failures.push(`${what}: ${error.message.split('\n')[0]}`)
    }
    await tab.waitForTimeout(100)
    logged.slice(before).forEach(line => failures.push(`${what}: ${line}`))
  }

  // the first page in the HTML (a reopened table): rows without any message
  await step('first page in the HTML', async () => {
    await tab.goto(`file://${dir}/in-html.html`)
    await tab.waitForSelector('.ag-row[row-index="0"] .ag-cell[col-id="run"]', { timeout: 5000 })
    await expectCount(/^500 runs · 500 shown/, 'first page in the HTML')
  })
  await step('rows posted after ready', async () => {
    await tab.goto(`file://${dir}/posted.html`)
    await tab.waitForFunction(() => window.sent.some(message => message.type === 'ready'))
    await post(reset)
    await post(rowsMessage)
    await tab.waitForSelector('.ag-row[row-index="0"] .ag-cell[col-id="run"]', { timeout: 5000 })
  })
  await step('sort, with strings and NaN', () => header('metrics.acc').click())
  await step('second sort key', () => header('params.lr').click({ modifiers: ['Shift'] }))
  await step('number filter', async () => {
    await filterBox('lr').fill('0.1')
    await expectCount(/· 250 shown/, 'number filter')
  })
  await step('text filter', () => filterBox('run').fill('run1'))
  await step('filters cleared', async () => {
    await filterBox('lr').fill('')
    await filterBox('run').fill('')
    await expectCount(/· 500 shown/, 'filters cleared')
  })
  await step('search', async () => {
    await tab.locator('#search').fill('adam')
    await expectCount(/· 250 shown/, 'search')
    await tab.locator('#search').fill('')
  })
  await step('select rows', async () => {
    await tab.locator('.ag-row[row-index="1"] .ag-cell[col-id="run"]').click()
    await tab.locator('.ag-row[row-index="3"] .ag-cell[col-id="run"]').click({ modifiers: ['Control'] })
    await tab.locator('.ag-row[row-index="5"] .ag-selection-checkbox input').first().click()
    await expectCount(/· 3 selected/, 'select rows')
  })
  await step('group by sweep, a sweep collapsed', async () => {
    await tab.locator('#group').check()
    await tab.locator('.sweep-group').first().click()
    await expectCount(/· 450 shown/, 'a sweep collapsed')
    await tab.locator('#group').uncheck()
  })
  await step('columns chooser: hide and pin', async () => {
    await tab.locator('#columns-button').click()
    await tab.locator('#columns-list label', { hasText: 'sweep' }).locator('input[type=checkbox]').uncheck()
    await tab.locator('#columns-list label', { hasText: 'optim' }).locator('select').selectOption('right')
    await tab.locator('#columns-button').click()
    if (await tab.locator('.ag-header-cell[col-id="sweep"]').count()) throw new Error('the hidden column is still shown')
    if (!(await tab.locator('.ag-grid-pinned-right-cells .ag-header-cell[col-id="params.optim"]').count())) throw new Error('the column is not pinned right')
  })
  await step('export CSV', async () => {
    await tab.locator('button[data-action="csv"]').click()
    const csv = await tab.evaluate(() => window.sent.find(message => message.type === 'csv')?.text ?? '')
    const [head, ...lines] = csv.trim().split(/\r?\n/)
    if (!head.includes('"run"') || head.includes('"sweep"') || lines.length !== 3) throw new Error(`CSV: ${head} and ${lines.length} rows`)
  })
  await step('star', () => tab.locator('.ag-row[row-index="2"] .ag-cell[col-id="star"]').click())
  await step('brushed in parallel coordinates', async () => {
    await post({ type: 'brushed', runs: ['sweep1/run1', 'sweep2/run2'] })
    await expectCount(/· 2 shown/, 'brushed')
    await tab.locator('#brushed-clear').click()
    await expectCount(/· 500 shown/, 'brush cleared')
  })
  await step('a run removed, another updated', async () => {
    await post({ type: 'remove', runs: ['sweep1/run1'] })
    await post({ type: 'rows', rows: [{ ...rows[2], status: 'running' }], columns, total: 499 })
    await expectCount(/^499 runs · 499 shown/, 'removed')
  })
  await step('header tooltip', async () => {
    await tab.locator('.ag-header-cell-sortable[col-id="params.lr"]').hover()
    await tab.waitForTimeout(600)
  })
  await step('double click shows the run', async () => {
    await tab.locator('.ag-row[row-index="4"] .ag-cell[col-id="run"]').dblclick()
    if (!(await tab.evaluate(() => window.sent.some(message => message.type === 'action' && message.action === 'show')))) throw new Error('no show action')
  })
  await step('resize a column', async () => {
    const box = await tab.locator('.ag-header-cell[col-id="status"] .ag-header-cell-resize').boundingBox()
    await tab.mouse.move(box.x + 2, box.y + 5)
    await tab.mouse.down()
    await tab.mouse.move(box.x + 60, box.y + 5)
    await tab.mouse.up()
  })
  await step('move a column', () => header('status').dragTo(header('created')))
  await step('a reload with the saved layout', async () => {
    const state = await tab.evaluate(() => window.sent.filter(message => message.type === 'state').pop())
    await post({ ...reset, where: 'lr > 0', state })
    await post(rowsMessage)
    await expectCount(/^500 runs · 500 shown/, 'reload')
    if (await tab.locator('.ag-header-cell[col-id="sweep"]').count()) throw new Error('the hidden column came back')
  })
} finally {
  await browser.close()
  rmSync(dir, { recursive: true, force: true })
}
for (const failure of failures) console.log(`FAIL ${failure}`)
console.log(`table webview: ${failures.length ? `${failures.length} failures` : 'every control answered, nothing logged'}`)
process.exit(failures.length ? 1 : 0)
