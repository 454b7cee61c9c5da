import { Uri, ViewColumn, type WebviewPanel, window } from 'vscode'
import { Disposable } from '../util/disposable'
import { nonce, webviewHtml } from '../vscode/webview'
import type { PlotData } from './collect'

const STYLE = `
#keys { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 8px 0; }
#charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 16px; }
figure { position: relative; height: 300px; margin: 0; }
`

/**
 * The plot webview: Chart.js line charts of the chosen metrics across runs. The script
 * is bundled into dist/webview; the data arrives by message once the script is ready.
 */
export class PlotPanel extends Disposable {
  private panel: WebviewPanel | undefined
  private data: PlotData | undefined

  constructor(private readonly extensionUri: Uri) {
    super()
  }

  public show(data: PlotData): void {
    this.data = data
    if (this.panel) {
      this.panel.title = data.title
      this.panel.reveal()
      void this.panel.webview.postMessage({ type: 'data', data })
      return
    }
    const dist = Uri.joinPath(this.extensionUri, 'dist', 'webview')
    const panel = window.createWebviewPanel('gitexp.plot', data.title, ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [dist]
    })
    this.panel = panel
    panel.onDidDispose(() => (this.panel = undefined))
    panel.webview.onDidReceiveMessage((message: { type?: string }) => {
      if (message?.type === 'ready' && this.data) {
        void panel.webview.postMessage({ type: 'data', data: this.data })
      }
    })
    const scriptNonce = nonce()
    panel.webview.html = webviewHtml({
      title: data.title,
      cspSource: panel.webview.cspSource,
      style: STYLE,
      body: '<h2 id="title"></h2><fieldset><legend>Metrics</legend><div id="keys"></div></fieldset><div id="charts"></div>',
      script: {
        src: panel.webview.asWebviewUri(Uri.joinPath(dist, 'plot.js')).toString(),
        nonce: scriptNonce
      }
    })
  }

  public override dispose(): void {
    this.panel?.dispose()
    super.dispose()
  }
}
