// Drives code-server in headless Chromium: opens the gitexp view, checks that the fixture's
// runs appear, that the Run view shows a run, that compare opens a diff editor and that plot
// draws charts. Usage: node test.mjs URL SCREENSHOT_DIR. Prints "e2e: N passed, N failed".
import { chromium } from 'playwright-core'
import { join } from 'path'

const [url, shots] = process.argv.slice(2)
const TIMEOUT = 30_000
const results = []

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync'
  ]
})
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
page.setDefaultTimeout(TIMEOUT)

const shot = name => page.screenshot({ path: join(shots, `${name}.png`) })

const check = async (name, body) => {
  const started = Date.now()
  try {
    await body()
    results.push([name, true])
    console.log(`ok   ${name} (${Date.now() - started} ms)`)
  } catch (error) {
    results.push([name, false])
    console.log(`FAIL ${name}: ${error.message.split('\n')[0]}`)
    await shot(`failed-${name.replace(/\W+/g, '-')}`).catch(() => undefined)
  }
}

// Quick input closes when something else takes focus (an editor or webview still opening),
// so open it, pick, and try again a few times before giving up.
const quickPick = async (key, text, row) => {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.keyboard.press(key)
      const input = page.locator('.quick-input-widget input')
      await input.waitFor({ state: 'visible', timeout: 5000 })
      await input.fill(text)
      await page.locator('.quick-input-list .monaco-list-row', { hasText: row }).first().click({ timeout: 5000 })
      return
    } catch (error) {
      if (attempt === 3) throw error
      await page.keyboard.press('Escape')
      await page.waitForTimeout(1000)
    }
  }
}

const runCommand = title => quickPick('F1', `>${title}`, title)

const pane = title => page.locator('.pane', { has: page.locator('.pane-header h3.title', { hasText: title }) })
const runsView = pane(/^Runs$/i)
const row = text => runsView.locator('.monaco-list-row', { hasText: text }).first()

try {
  await check('workbench loads', async () => {
    await page.goto(url)
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 })
    await page.locator('.activitybar').waitFor()
  })

  await check('gitexp view lists the sweeps', async () => {
    await page.locator('.activitybar [aria-label^="gitexp"]').first().click()
    await row('quickstart').waitFor({ timeout: 60_000 })
    await row('tuned').waitFor()
    await shot('01-sweeps')
  })

  await check('runs appear under their sweep with status and metric', async () => {
    await row('quickstart').click()
    await row('tuned').click()
    await runsView.locator('.monaco-list-row[aria-label*="quickstart/lr0.1"]').first().waitFor()
    await runsView.locator('.monaco-list-row[aria-label*="tuned/"]').first().waitFor()
    const label = await runsView.locator('.monaco-list-row[aria-label*="quickstart/"]').first().getAttribute('aria-label')
    if (!/completed/.test(label) || !/acc \d/.test(label)) {
      throw new Error(`run row says "${label}"`)
    }
    await shot('02-runs')
  })

  await check('Run view shows the selected run', async () => {
    await runsView.locator('.monaco-list-row[aria-label*="quickstart/"]').first().click()
    const runView = pane(/^Run$/i)
    await runView.locator('.monaco-list-row', { hasText: /Params \(\d+\)/ }).waitFor()
    await runView.locator('.monaco-list-row', { hasText: 'lr' }).first().waitFor()
    await shot('03-run-view')
  })

  await check('compare opens the report and a diff editor', async () => {
    await runsView.locator('.monaco-list-row[aria-label*="tuned/"]').first().click({ modifiers: ['Control'] })
    await runCommand('gitexp: Compare Runs')
    await page.locator('.tab', { hasText: '↔' }).first().waitFor()
    await page.locator('.monaco-diff-editor').first().waitFor({ state: 'visible' })
    await page.locator('.tab', { hasText: 'train.py' }).first().waitFor()
    await page.locator('.tab', { hasText: 'tuned.yml' }).first().waitFor()
    await page.waitForTimeout(1000)
    await shot('04-compare')
  })

  await check('plot draws a chart per chosen metric', async () => {
    await runCommand('gitexp: Plot Metrics')
    await page.locator('.quick-input-widget', { hasText: 'metrics to plot' }).waitFor()
    await page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).click()
    const deadline = Date.now() + TIMEOUT
    let canvases = 0
    while (Date.now() < deadline && canvases === 0) {
      for (const frame of page.frames()) {
        canvases += await frame.locator('#charts canvas').count().catch(() => 0)
      }
      if (canvases === 0) await page.waitForTimeout(250)
    }
    if (canvases === 0) throw new Error('no chart canvas in the plot webview')
    await page.waitForTimeout(500)
    await shot('05-plot')
  })

  await check('query shows a results table', async () => {
    await runCommand('gitexp: Query Runs')
    const input = page.locator('.quick-input-widget input')
    await page.locator('.quick-input-widget', { hasText: 'query runs' }).waitFor()
    await input.fill('select run, acc order by acc desc')
    await page.keyboard.press('Enter')
    const deadline = Date.now() + TIMEOUT
    let rows = 0
    while (Date.now() < deadline && rows === 0) {
      for (const frame of page.frames()) {
        rows += await frame.locator('table tbody tr').count().catch(() => 0)
      }
      if (rows === 0) await page.waitForTimeout(250)
    }
    if (rows !== 5) throw new Error(`query table has ${rows} rows, expected 5`)
    await page.waitForTimeout(1000)
    await shot('06-query')
  })

  await check('sweep file has code lenses and dry run opens a terminal', async () => {
    await quickPick('Control+P', 'examples/quickstart/sweep.yml', 'sweep.yml')
    const lens = page.locator('.contentWidgets [widgetid^="codelens"] a', { hasText: 'Dry run' }).first()
    await lens.waitFor({ timeout: 60_000 })
    await page.locator('.contentWidgets [widgetid^="codelens"] a', { hasText: /Run sweep/ }).first().waitFor()
    await lens.click()
    await page.locator('.terminal-tabs-entry, .single-terminal-tab, .panel .tabs-container, .terminal-wrapper').first().waitFor()
    await page.waitForTimeout(2000)
    await shot('07-sweep-file')
  })
} finally {
  await browser.close()
}

const passed = results.filter(([, ok]) => ok).length
console.log(`e2e: ${passed} passed, ${results.length - passed} failed`)
process.exit(passed === results.length ? 0 : 1)
