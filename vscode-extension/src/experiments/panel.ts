import { writeFile } from 'fs/promises'
import { Uri, ViewColumn, type Memento, type WebviewPanel, window } from 'vscode'
import type { GitexpClient } from '../languageClient/client'
import type { Scalar, TableResult } from '../languageClient/protocol'
import { Disposable } from '../util/disposable'
import { errorMessage } from '../util/errors'
import { within } from '../util/within'
import { nonce, webviewHtml } from '../vscode/webview'
import { FIRST_MESSAGES_ID, type SavedState, type TableToView, type ViewToTable } from './messages'

/** The first page is small so rows paint at once; the rest stream in behind it. */
export const FIRST_PAGE = 200
export const PAGE = 2500
/**
 * How long the page's HTML waits for the first page to come with it. The editor takes longer
 * than this to make a webview's frame (about 0.5 s in code-server), so a server that answers
 * within it (a reopened table) costs the page nothing; a slower one (the first index build)
 * does not hold the page back, which then asks for its rows when it is ready.
 */
export const FIRST_PAGE_IN_HTML_MS = 250

export type ActionHandler = (client: GitexpClient, action: string, runs: string[]) => Promise<void> | void

const STYLE = `
body { padding: 0; display: flex; flex-direction: column; height: 100vh; overflow: hidden; }
#toolbar { display: flex; flex-wrap: wrap; gap: 4px 6px; align-items: center; padding: 6px 8px; border-bottom: 1px solid var(--vscode-panel-border); }
#toolbar input[type=text] { background: var(--vscode-input-background); color: var(--vscode-input-foreground); border: 1px solid var(--vscode-input-border, transparent); padding: 2px 4px; }
#where { width: 24em; } #search { width: 10em; } #tag { width: 9em; }
button { background: var(--vscode-button-secondaryBackground); color: var(--vscode-button-secondaryForeground); border: none; padding: 3px 8px; cursor: pointer; }
button:disabled { opacity: 0.45; cursor: default; }
button.primary { background: var(--vscode-button-background); color: var(--vscode-button-foreground); }
#status { display: flex; gap: 12px; padding: 2px 8px; min-height: 1.4em; }
#message.error { color: var(--vscode-errorForeground); }
#count { opacity: 0.8; }
#grid { flex: 1; min-height: 0; }
#columns-list { position: absolute; right: 8px; top: 40px; z-index: 10; max-height: 60vh; overflow: auto; background: var(--vscode-editorWidget-background); border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border)); padding: 6px; display: flex; flex-direction: column; }
#columns-list[hidden], #brushed[hidden] { display: none; }
.ag-cell.number { text-align: right; font-variant-numeric: tabular-nums; }
.ag-cell.star { cursor: pointer; color: var(--vscode-charts-yellow, #cca700); }
.sweep-group { display: flex; align-items: center; height: 100%; padding: 0 10px; cursor: pointer; font-weight: 600; background: var(--vscode-editorWidget-background); border-bottom: 1px solid var(--vscode-panel-border); }
.status.completed { color: var(--vscode-testing-iconPassed, #73c991); }
.status.failed, .status.lost { color: var(--vscode-errorForeground); }
.status.running, .status.queued { color: var(--vscode-charts-blue, #3794ff); }
`

const BODY = `
<div id="toolbar">
  <input id="where" type="text" placeholder="where: lr > 0.01 and status = 'completed' (Enter)" aria-label="SQL filter">
  <input id="search" type="text" placeholder="search" aria-label="search">
  <label><input id="group" type="checkbox"> group by sweep</label>
  <button class="primary" data-action="plot" data-min="1" title="Plot the selected runs' curves">Plot</button>
  <button data-action="compare" data-min="2">Compare</button>
  <button data-action="show" data-min="1">Show</button>
  <button data-action="logs" data-min="1">Logs</button>
  <button data-action="apply" data-min="1" title="gitexp apply: restore the run's code into the working tree">Apply</button>
  <button data-action="branch" data-min="1" title="gitexp branch: a branch at the run's code">Branch</button>
  <button data-action="push" data-min="1">Push</button>
  <button data-action="kill" data-min="1">Kill</button>
  <button data-action="delete" data-min="1">Delete</button>
  <button data-action="copy" data-min="1">Copy command</button>
  <button data-action="csv">Export CSV</button>
  <input id="tag" type="text" placeholder="tag: best lr=low -old" aria-label="tags to set">
  <button id="tag-button" data-min="1">Tag</button>
  <button id="columns-button" title="Show, hide and pin columns">Columns ▾</button>
</div>
<div id="columns-list" hidden></div>
<div id="status"><span id="count"></span><span id="brushed" hidden><span id="brushed-count"></span> <button id="brushed-clear">clear</button></span><span id="message"></span></div>
<div id="grid"></div>`

/**
 * The experiments table of one repository: a webview with AG Grid, fed page by page from
 * `gitexp/table` and kept live through `gitexp/runsChanged` (only the changed runs are
 * fetched again). Column layout is remembered per repository in the workspace state.
 */
class TablePanel extends Disposable {
  public selection: string[] = []
  private where = ''
  private generation = 0
  private listening: { dispose(): void } | undefined
  private prefetched: Promise<TableResult> | undefined
  /** The first page the page's HTML carried: the view has it, `load` goes on from there. */
  private inHtml: TableResult | undefined

  constructor(
    public readonly panel: WebviewPanel,
    private client: GitexpClient,
    private readonly memento: Memento,
    private readonly onAction: ActionHandler
  ) {
    super()
    this.track(panel.webview.onDidReceiveMessage((message: ViewToTable) => void this.receive(message)))
    // The first page is asked for now, while the webview starts (AG Grid's script is the
    // longer wait), and shown when it says it is ready.
    this.prefetched = client.table({ offset: 0, limit: FIRST_PAGE })
    this.prefetched.catch(() => undefined)
    this.listen()
    this.track({ dispose: () => this.listening?.dispose() })
  }

  private listen(): void {
    this.listening?.dispose()
    this.listening = this.client.onDidChangeRuns(({ runs }) => void this.runsChanged(runs))
  }

  /** The repository's server was started again (a setting, another interpreter): use the new one. */
  public rebind(client: GitexpClient): void {
    if (client === this.client) {
      return
    }
    this.client = client
    this.prefetched = undefined
    this.inHtml = undefined
    this.listen()
    void this.load()
  }

  private get stateKey(): string {
    return `gitexp.table:${this.client.root}`
  }

  public post(message: TableToView): void {
    void this.panel.webview.postMessage(message)
  }

  /**
   * The table's first messages for the page's HTML, when the prefetched first page comes
   * within FIRST_PAGE_IN_HTML_MS (the view then makes its grid with them at once); `load`
   * then goes on from there. Undefined: the page asks for its rows when it is ready.
   */
  public async firstMessagesForHtml(): Promise<TableToView[] | undefined> {
    const prefetched = this.prefetched
    const first = prefetched && (await within(prefetched.catch(() => undefined), FIRST_PAGE_IN_HTML_MS))?.value
    if (!first || prefetched !== this.prefetched) {
      return undefined
    }
    this.prefetched = undefined
    this.inHtml = first
    return this.firstMessages(first)
  }

  /** A (re)load's first messages: the columns and saved layout, then the first rows. */
  private firstMessages(result: TableResult): TableToView[] {
    return [
      { type: 'reset', total: result.total, columns: result.columns, state: this.memento.get<SavedState>(this.stateKey), where: this.where },
      // its own message: in the 'reset' with the columns, the first rows painted later (AG Grid
      // lays the new columns out first; 524 against 343 ms in bench/bench_webview.mjs)
      { type: 'rows', rows: result.rows, columns: result.columns, total: result.total }
    ]
  }

  /** (Re)load every row: a small first page, then the rest in big pages. */
  public async load(): Promise<void> {
    const generation = ++this.generation
    const where = this.where || undefined
    const prefetched = where === undefined ? this.prefetched : undefined
    const inHtml = where === undefined ? this.inHtml : undefined
    this.prefetched = undefined
    this.inHtml = undefined
    let result: TableResult
    try {
      result = inHtml ?? (await (prefetched ?? this.client.table({ where, offset: 0, limit: FIRST_PAGE })))
    } catch (error) {
      this.post({ type: 'message', text: errorMessage(error), error: true })
      return
    }
    if (generation !== this.generation) {
      return
    }
    if (!inHtml) {
      this.firstMessages(result).forEach(message => this.post(message))
    }
    for (let offset = result.rows.length; offset < result.total && generation === this.generation; ) {
      const page = await this.client.table({ where, offset, limit: PAGE })
      if (generation !== this.generation || page.rows.length === 0) {
        break
      }
      this.post({ type: 'rows', rows: page.rows, columns: page.columns, total: page.total })
      offset += page.rows.length
    }
  }

  private async runsChanged(runs: string[]): Promise<void> {
    if (runs.length === 0) {
      await this.load()
      return
    }
    try {
      // Only the changed runs, still under the user's condition: those that no longer
      // match it (or are gone) leave the table; the rest update in place, selection kept.
      const result = await this.client.table({ runs, where: this.where || undefined })
      const found = new Set(result.rows.map(row => row.run))
      const gone = runs.filter(run => !found.has(run))
      if (result.rows.length) {
        this.post({ type: 'rows', rows: result.rows, columns: result.columns, total: result.total })
      }
      if (gone.length) {
        this.post({ type: 'remove', runs: gone })
      }
    } catch (error) {
      this.post({ type: 'message', text: errorMessage(error), error: true })
    }
  }

  private async tag(runs: string[], set: Record<string, Scalar>, remove: string[]): Promise<void> {
    try {
      const result = await this.client.tag({ runs, set, remove })
      const failed = result.errors.map(error => `${error.run}: ${error.message}`)
      this.post({
        type: 'message',
        text: failed.length ? failed[0] : `tagged ${result.done.length} run(s)`,
        error: failed.length > 0
      })
      await this.runsChanged(runs)
    } catch (error) {
      this.post({ type: 'message', text: errorMessage(error), error: true })
    }
  }

  private async receive(message: ViewToTable): Promise<void> {
    switch (message.type) {
      case 'ready':
        await this.load()
        break
      case 'selection':
        this.selection = message.runs
        break
      case 'state':
        await this.memento.update(this.stateKey, {
          columns: message.columns,
          groupBySweep: message.groupBySweep,
          collapsed: message.collapsed
        })
        break
      case 'where':
        this.where = message.where
        await this.load()
        break
      case 'tag':
        await this.tag(message.runs, message.set, message.remove)
        break
      case 'star':
        await this.tag([message.run], message.starred ? { star: true } : {}, message.starred ? [] : ['star'])
        break
      case 'csv':
        await this.saveCsv(message.text)
        break
      case 'action':
        try {
          await this.onAction(this.client, message.action, message.runs)
        } catch (error) {
          this.post({ type: 'message', text: errorMessage(error), error: true })
        }
        break
    }
  }

  private async saveCsv(text: string): Promise<void> {
    const target = await window.showSaveDialog({
      defaultUri: Uri.file(`${this.client.root}/runs.csv`),
      filters: { CSV: ['csv'] }
    })
    if (target) {
      await writeFile(target.fsPath, text)
      this.post({ type: 'message', text: `saved ${target.fsPath}`, error: false })
    }
  }
}

/** One experiments table per repository, opened by `gitexp.showExperiments`. */
export class ExperimentsPanels extends Disposable {
  private readonly panels = new Map<string, TablePanel>()

  constructor(
    private readonly extensionUri: Uri,
    private readonly memento: Memento,
    private readonly onAction: ActionHandler
  ) {
    super()
  }

  public get(root: string): TablePanel | undefined {
    return this.panels.get(root)
  }

  /** Runs selected in the table of a repository (for commands run from elsewhere). */
  public selection(root: string): string[] {
    return this.panels.get(root)?.selection ?? []
  }

  public show(client: GitexpClient): void {
    const open = this.panels.get(client.root)
    if (open) {
      open.rebind(client)
      open.panel.reveal()
      return
    }
    const dist = Uri.joinPath(this.extensionUri, 'dist', 'webview')
    const panel = window.createWebviewPanel('gitexp.experiments', `gitexp: experiments (${client.name})`, ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [dist]
    })
    const table = new TablePanel(panel, client, this.memento, this.onAction)
    this.panels.set(client.root, table)
    panel.onDidDispose(() => {
      this.panels.delete(client.root)
      table.dispose()
    })
    const script = { src: panel.webview.asWebviewUri(Uri.joinPath(dist, 'experiments.js')).toString(), nonce: nonce() }
    void table.firstMessagesForHtml().then(first => {
      if (this.panels.get(client.root) === table) {
        panel.webview.html = webviewHtml({
          title: 'gitexp experiments',
          cspSource: panel.webview.cspSource,
          style: STYLE,
          body: BODY,
          script,
          data: first && { id: FIRST_MESSAGES_ID, value: first }
        })
      }
    })
  }

  /** Open tables follow their repository's current client (after a restart). */
  public rebind(clients: GitexpClient[]): void {
    for (const client of clients) {
      this.panels.get(client.root)?.rebind(client)
    }
  }

  /** Show only these runs in the table (parallel-coordinates brushing); undefined clears. */
  public brush(root: string, runs: string[] | undefined): void {
    this.panels.get(root)?.post({ type: 'brushed', runs })
  }

  public override dispose(): void {
    for (const table of this.panels.values()) {
      table.panel.dispose()
    }
    super.dispose()
  }
}
