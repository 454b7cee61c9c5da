import { Uri, ViewColumn, type WebviewPanel, window } from 'vscode'
import type { GitexpClient } from '../languageClient/client'
import { Disposable } from '../util/disposable'
import { errorMessage } from '../util/errors'
import { nonce, webviewHtml } from '../vscode/webview'
import { decodeCurves } from './curves'
import { type DashboardData, type DashboardToExtension, MAX_POINTS, packSeries, toMessage } from './dashboard'

const STYLE = `
#bar { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; margin: 8px 0; }
#bar select, #bar input { background: var(--vscode-input-background); color: var(--vscode-input-foreground); border: 1px solid var(--vscode-input-border, transparent); }
[data-view] { background: var(--vscode-button-secondaryBackground); color: var(--vscode-button-secondaryForeground); border: none; padding: 3px 10px; cursor: pointer; }
[data-view].active { background: var(--vscode-button-background); color: var(--vscode-button-foreground); }
#keys { display: flex; flex-wrap: wrap; gap: 2px 14px; margin: 4px 0 8px; }
#key { display: flex; flex-wrap: wrap; gap: 2px 10px; margin: 4px 0 8px; opacity: 0.9; }
.chip::before { content: ''; display: inline-block; width: 10px; height: 10px; margin-right: 4px; background: var(--c); border-radius: 2px; }
#charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 12px; }
figure { margin: 0; min-width: 0; }
#live { color: var(--vscode-charts-blue, #3794ff); }
[hidden] { display: none !important; }
h2 { margin: 8px 0 4px; font-size: 1.1em; }
.image-tag { margin: 8px 0 16px; }
.image-tag h3 { margin: 4px 0; font-size: 1em; }
.image-tag .slider { display: flex; gap: 8px; align-items: center; margin: 4px 0 8px; }
.image-tag .slider input { flex: 1; max-width: 480px; }
.image-runs { display: flex; flex-wrap: wrap; gap: 10px; }
.image-runs figure { display: flex; flex-direction: column; gap: 2px; max-width: 320px; }
.image-runs img { image-rendering: pixelated; min-width: 96px; max-width: 320px; max-height: 320px; object-fit: contain; background: var(--vscode-editorWidget-background); border: 1px solid var(--vscode-panel-border); }
.image-runs figcaption { font-size: 0.85em; opacity: 0.85; overflow-wrap: anywhere; }
`

const BODY = `
<h2><span id="title"></span> <span id="live" hidden>● live</span></h2>
<div id="bar">
  <span><button data-view="curves" class="active">Curves</button><button data-view="scatter">Scatter</button><button data-view="parallel">Parallel coordinates</button><button data-view="images" hidden>Images</button></span>
  <span id="curve-controls">x <select id="x"><option value="step">step</option><option value="time">time</option></select>
    <label><input id="log" type="checkbox"> log y</label>
    <label>smoothing <input id="smooth" type="range" min="0" max="0.99" step="0.01" value="0"> <span id="smooth-value">0</span></label></span>
  <span id="scatter-controls" hidden>param <select id="scatter-x"></select> metric <select id="scatter-y"></select></span>
  <label>colour by <select id="colour"></select></label>
</div>
<div id="keys"></div>
<div id="key"></div>
<div id="charts"></div>
<div id="images" hidden></div>`

const titleOf = (runs: string[]): string => (runs.length === 1 ? `gitexp: ${runs[0]}` : `gitexp: ${runs.length} runs`)

/** How long a burst of live updates is merged before the curves are fetched again. */
const LIVE_DELAY_MS = 300

/**
 * The plots dashboard: ECharts curves, scatter and parallel coordinates for a set of runs.
 * It fetches the runs' rows (`gitexp/table`) and series (`gitexp/series`, with times) and
 * fetches again when `gitexp/runsChanged` names one of them, so curves follow live runs.
 */
export class PlotPanel extends Disposable {
  private panel: WebviewPanel | undefined
  private data: DashboardData | undefined
  private client: GitexpClient | undefined
  private runs: string[] = []
  private listening: { dispose(): void } | undefined
  private timer: NodeJS.Timeout | undefined
  private fetching = false
  private again = false
  /** when the plot on screen was asked for (for the log's timings) */
  private asked: number | undefined

  constructor(
    private readonly extensionUri: Uri,
    private readonly onBrush: (root: string, runs: string[] | undefined) => void,
    /** a line for the output channel (where the time of a plot goes: the e2e bench reads it) */
    private readonly log: (line: string) => void = () => undefined
  ) {
    super()
  }

  public async show(client: GitexpClient, runs: string[], selected: string[]): Promise<void> {
    this.client = client
    this.runs = runs
    this.listening?.dispose()
    this.listening = client.onDidChangeRuns(({ runs: changed }) => {
      if (changed.length === 0 || changed.some(run => this.runs.includes(run))) {
        this.schedule()
      }
    })
    // The webview starts (ECharts loads) while the curves are fetched, not after.
    this.asked = Date.now()
    const opened = this.open(titleOf(runs))
    const data = await this.fetch(selected)
    if (!data) {
      if (opened) {
        this.panel?.dispose()
      }
      return
    }
    this.post(data)
  }

  private async fetch(selected: string[]): Promise<DashboardData | undefined> {
    const client = this.client
    if (!client) {
      return undefined
    }
    try {
      const started = Date.now()
      const took: Record<string, number> = {}
      const timed = <T>(name: string, request: Promise<T>): Promise<T> =>
        request.finally(() => (took[name] = Date.now() - started))
      const [table, series, images] = await Promise.all([
        timed('table', client.table({ runs: this.runs })),
        // float64 columns in one base64 string, thinned by the server: no JSON number per point
        timed('series', client.packedSeries(this.runs, true, MAX_POINTS)),
        // images are a bonus: a server without the request (older gitexp) plots curves anyway
        timed('images', client.images(this.runs).catch(() => ({ images: [], truncated: false })))
      ])
      const order = new Map(this.runs.map((run, index) => [run, index]))
      const rows = [...table.rows].sort((a, b) => (order.get(a.run) ?? 0) - (order.get(b.run) ?? 0))
      this.data = {
        title: titleOf(this.runs),
        runs: rows.map(row => ({ run: row.run, status: row.status, params: row.params, metrics: row.metrics })),
        keys: series.keys,
        // only the points a chart can show travel to the webview, as binary columns
        series: 'data' in series ? decodeCurves(series) : series.series.map(item => packSeries(item)),
        selected,
        live: rows.some(row => row.status === 'running' || row.status === 'queued'),
        images: images.images
      }
      const parts = Object.entries(took).map(([name, ms]) => `${name} ${ms} ms`).join(', ')
      this.log(`gitexp: plot of ${this.runs.length} runs: fetched in ${Date.now() - started} ms (${parts})`)
      return this.data
    } catch (error) {
      void window.showErrorMessage(`gitexp: cannot plot: ${errorMessage(error)}`)
      return undefined
    }
  }

  private schedule(): void {
    if (this.timer || !this.panel) {
      return
    }
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.refresh()
    }, LIVE_DELAY_MS)
  }

  private async refresh(): Promise<void> {
    if (this.fetching) {
      this.again = true
      return
    }
    this.fetching = true
    this.asked = undefined  // a live update, not the plot the user asked for
    try {
      const data = await this.fetch(this.data?.selected ?? [])
      if (data) {
        this.post(data)
      }
    } finally {
      this.fetching = false
      if (this.again) {
        this.again = false
        this.schedule()
      }
    }
  }

  private post(data: DashboardData): void {
    void this.panel?.webview.postMessage({ type: 'data', data: toMessage(data) })
    if (this.asked !== undefined) {
      const now = Date.now()
      this.log(`gitexp: plot posted ${now - this.asked} ms after it was asked for (at ${now})`)
    }
  }

  /** Shows the panel; true when it was made now. */
  private open(title: string): boolean {
    if (this.panel) {
      this.panel.title = title
      this.panel.reveal()
      return false
    }
    const dist = Uri.joinPath(this.extensionUri, 'dist', 'webview')
    const panel = window.createWebviewPanel('gitexp.plot', title, ViewColumn.Beside, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [dist]
    })
    this.panel = panel
    panel.onDidDispose(() => {
      this.panel = undefined
      this.data = undefined  // a new panel must not show these runs' curves on its 'ready'
      this.listening?.dispose()
      this.listening = undefined
    })
    panel.webview.onDidReceiveMessage((message: DashboardToExtension) => {
      if (message?.type === 'ready' && this.asked !== undefined) {
        this.log(`gitexp: plot webview ready ${Date.now() - this.asked} ms after it was asked for`)
      }
      if (message?.type === 'ready' && this.data) {
        this.post(this.data)
      } else if (message?.type === 'brush' && this.client) {
        this.onBrush(this.client.root, message.runs ?? undefined)
      }
    })
    const scriptNonce = nonce()
    panel.webview.html = webviewHtml({
      title,
      cspSource: panel.webview.cspSource,
      style: STYLE,
      body: BODY,
      script: { src: panel.webview.asWebviewUri(Uri.joinPath(dist, 'plot.js')).toString(), nonce: scriptNonce }
    })
    return true
  }

  public override dispose(): void {
    if (this.timer) {
      clearTimeout(this.timer)
    }
    this.listening?.dispose()
    this.panel?.dispose()
    super.dispose()
  }
}
