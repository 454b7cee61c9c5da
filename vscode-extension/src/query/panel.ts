import { ViewColumn, type WebviewPanel, window } from 'vscode'
import type { QueryResult } from '../languageClient/protocol'
import { Disposable } from '../util/disposable'
import { webviewHtml } from '../vscode/webview'
import { renderQueryBody } from './table'

/** The query results webview; one panel reused for each new query. No scripts run in it. */
export class QueryPanel extends Disposable {
  private panel: WebviewPanel | undefined

  public show(sql: string, result: QueryResult): void {
    if (!this.panel) {
      this.panel = window.createWebviewPanel('gitexp.query', 'gitexp query', ViewColumn.Active, {
        enableScripts: false,
        enableFindWidget: true
      })
      this.panel.onDidDispose(() => (this.panel = undefined))
    }
    this.panel.title = `gitexp: ${sql.length > 30 ? sql.slice(0, 30) + '…' : sql}`
    this.panel.webview.html = webviewHtml({
      title: 'gitexp query',
      cspSource: this.panel.webview.cspSource,
      body: renderQueryBody(sql, result)
    })
    this.panel.reveal()
  }

  public override dispose(): void {
    this.panel?.dispose()
    super.dispose()
  }
}
