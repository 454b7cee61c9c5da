import { ViewColumn, type WebviewPanel, window } from 'vscode'
import type { GitexpClient } from '../languageClient/client'
import { Disposable } from '../util/disposable'
import { errorMessage } from '../util/errors'
import { escapeHtml } from '../util/format'
import { webviewHtml } from '../vscode/webview'
import { REPORT_STYLE, renderCompareHtml, renderRunHtml } from './html'

/** Steps per image tag in Show Run (a row of them; the plots dashboard has the slider). */
const RUN_IMAGE_STEPS = 8

interface Report {
  panel: WebviewPanel
  client: GitexpClient
  runs: string[]
}

/**
 * Show Run (one run) and Compare (2 or more runs) as rendered webviews. A report is redrawn
 * when `gitexp/runsChanged` names one of its runs, so an open live run stays current.
 * Links inside run commands (open a file, a diff editor, logs); no script runs in them.
 */
export class ReportPanels extends Disposable {
  private readonly reports = new Map<string, Report>()

  public async show(client: GitexpClient, runs: string[]): Promise<void> {
    const key = `${client.root}\0${runs.join('\0')}`
    let report = this.reports.get(key)
    if (!report) {
      const title = runs.length === 1 ? runs[0] : `${runs.length} runs: ${runs.join(' ↔ ')}`
      const panel = window.createWebviewPanel('gitexp.report', title, ViewColumn.Active, {
        enableScripts: false,
        enableCommandUris: true,
        enableFindWidget: true
      })
      report = { panel, client, runs }
      this.reports.set(key, report)
      const listening = client.onDidChangeRuns(({ runs: changed }) => {
        if (changed.length === 0 || changed.some(run => runs.includes(run))) {
          void this.render(report!)
        }
      })
      panel.onDidDispose(() => {
        listening.dispose()
        this.reports.delete(key)
      })
    }
    report.panel.reveal()
    await this.render(report)
  }

  private async render(report: Report): Promise<void> {
    const { client, runs, panel } = report
    let body: string
    try {
      // images are a bonus: a server without the request (an older gitexp) shows the rest
      const images = runs.length === 1 ? client.images(runs, RUN_IMAGE_STEPS).catch(() => ({ images: [] })) : undefined
      const details = await Promise.all(runs.map(run => client.run(run)))
      if (runs.length === 1) {
        body = renderRunHtml(details[0], client.root, (await images)?.images)
      } else {
        const diffs = await Promise.all(runs.slice(1).map(run => client.diff(runs[0], run)))
        body = renderCompareHtml(client.root, details, diffs)
      }
    } catch (error) {
      body = `<h1>gitexp</h1><p class="error">${escapeHtml(errorMessage(error))}</p>`
    }
    panel.webview.html = webviewHtml({ title: panel.title, cspSource: panel.webview.cspSource, style: REPORT_STYLE, body })
  }

  public override dispose(): void {
    for (const report of this.reports.values()) {
      report.panel.dispose()
    }
    super.dispose()
  }
}
