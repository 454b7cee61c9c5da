import { strict as assert } from 'assert'
import { Uri } from 'vscode'
import { type FakeWebviewPanel, webviewPanels } from '../test/vscodeMock'
import type { GitexpClient } from '../languageClient/client'
import type { TableParams, TableResult } from '../languageClient/protocol'
import { FIRST_MESSAGES_ID, type TableToView } from './messages'
import { ExperimentsPanels, FIRST_PAGE, FIRST_PAGE_IN_HTML_MS, PAGE } from './panel'

const TOTAL = FIRST_PAGE + PAGE + 10
const columns = [{ kind: 'metric', key: 'acc', type: 'DOUBLE' }]
const row = (index: number) => ({
  run: `s/r${index}`, sweep: 's', name: `r${index}`, status: 'completed', created: '', duration: 1,
  exit_code: 0, params: {}, metrics: { acc: index / TOTAL }, tags: {}
})

/** A server whose `gitexp/table` answers after `delayMs`, noting what it was asked. */
const fakeClient = (delayMs: number) => {
  const asked: TableParams[] = []
  let answers = 0
  const client = {
    root: '/repo',
    name: 'repo',
    onDidChangeRuns: () => ({ dispose: () => undefined }),
    table: async (params: TableParams): Promise<TableResult> => {
      asked.push(params)
      await new Promise(resolve => setTimeout(resolve, (params.offset ?? 0) === 0 ? delayMs : 1))
      answers++
      const offset = params.offset ?? 0
      const count = Math.max(0, Math.min(params.limit ?? TOTAL, TOTAL - offset))
      return { total: TOTAL, offset, columns, rows: Array.from({ length: count }, (_, i) => row(offset + i)) } as TableResult
    }
  }
  return { client: client as unknown as GitexpClient, asked, answers: () => answers }
}

const memento = { get: () => undefined, update: async () => undefined, keys: () => [] }
const until = async (what: string, probe: () => boolean, ms = 3000): Promise<void> => {
  for (const deadline = Date.now() + ms; !probe(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}
/** The first messages the page's HTML carries, if any. */
const inHtml = (panel: FakeWebviewPanel): TableToView[] | undefined => {
  const match = new RegExp(`<script type="application/json" id="${FIRST_MESSAGES_ID}">([^<]*)</script>`).exec(panel.webview.html)
  return match ? (JSON.parse(match[1]) as TableToView[]) : undefined
}
const rowsPosted = (panel: FakeWebviewPanel) =>
  (panel.posted as TableToView[]).flatMap(message => (message.type === 'rows' ? message.rows.map(r => r.run) : []))

describe('experiments table panel', () => {
  let panels: ExperimentsPanels
  beforeEach(() => {
    webviewPanels.length = 0
    panels = new ExperimentsPanels(Uri.file('/ext'), memento as never, () => undefined)
  })
  afterEach(() => panels.dispose())

  it('writes the first page into the page when the server answers in time, and streams the rest after ready', async () => {
    const { client, asked } = fakeClient(5)
    panels.show(client)
    const panel = webviewPanels[0]
    await until('the HTML', () => panel.webview.html !== '')
    const first = inHtml(panel)
    assert.ok(first, 'no first messages in the HTML')
    assert.deepEqual(first.map(message => message.type), ['reset', 'rows'])
    assert.equal(first[1].type === 'rows' && first[1].rows.length, FIRST_PAGE)
    assert.equal(panel.posted.length, 0, 'nothing is posted before the page is ready')

    panel.say({ type: 'ready' })
    await until('every row', () => rowsPosted(panel).length === TOTAL - FIRST_PAGE)
    // the page has the first page: no reset, no first page again, only the rows after it
    assert.ok(!(panel.posted as TableToView[]).some(message => message.type === 'reset'))
    assert.equal(rowsPosted(panel)[0], `s/r${FIRST_PAGE}`)
    assert.deepEqual(asked.map(params => params.offset), [0, FIRST_PAGE, FIRST_PAGE + PAGE])
  })

  it('does not hold the page back for a slow server: the first page is posted when the page is ready', async () => {
    const { client, asked, answers } = fakeClient(FIRST_PAGE_IN_HTML_MS + 150)
    panels.show(client)
    const panel = webviewPanels[0]
    let answeredWhenWritten: number | undefined
    let html = ''
    Object.defineProperty(panel.webview, 'html', {
      get: () => html,
      set: (value: string) => {
        answeredWhenWritten = answers()
        html = value
      }
    })
    await until('the HTML', () => panel.webview.html !== '')
    assert.equal(answeredWhenWritten, 0, 'the HTML waited for the server')
    assert.equal(inHtml(panel), undefined)
    assert.ok(panel.webview.html.includes('experiments.js'))

    panel.say({ type: 'ready' })
    await until('every row', () => rowsPosted(panel).length === TOTAL)
    const types = (panel.posted as TableToView[]).map(message => message.type)
    assert.deepEqual(types.slice(0, 2), ['reset', 'rows'])
    // the prefetched first page is used, not asked for again
    assert.deepEqual(asked.map(params => params.offset), [0, FIRST_PAGE, FIRST_PAGE + PAGE])
  })

  it('writes no HTML into a panel closed while it waited for the server', async () => {
    const { client } = fakeClient(50)
    panels.show(client)
    const panel = webviewPanels[0]
    panel.dispose()
    await new Promise(resolve => setTimeout(resolve, 120))
    assert.equal(panel.webview.html, '')
  })
})
