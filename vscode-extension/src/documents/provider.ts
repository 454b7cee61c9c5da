import { EventEmitter, type TextDocumentContentProvider, type Uri, workspace } from 'vscode'
import { errorMessage } from '../util/errors'
import type { Repositories } from '../repository/registry'
import { Disposable } from '../util/disposable'
import { renderDiffMarkdown, renderRunMarkdown } from './markdown'
import { FILE_SCHEME, REPORT_SCHEME, parseFileUri, parseReportUri } from './uri'

/**
 * Serves the `gitexp:` (files as they were in a run, from `gitexp/file`) and
 * `gitexp-report:` (show / compare as Markdown) read-only documents. Run files never
 * change, but reports follow `gitexp/runsChanged` so an open live run stays current.
 */
export class Documents extends Disposable {
  private readonly reportsChanged = this.track(new EventEmitter<Uri>())

  constructor(private readonly repositories: Repositories) {
    super()
    const files: TextDocumentContentProvider = { provideTextDocumentContent: uri => this.file(uri) }
    const reports: TextDocumentContentProvider = {
      onDidChange: this.reportsChanged.event,
      provideTextDocumentContent: uri => this.report(uri)
    }
    this.track(workspace.registerTextDocumentContentProvider(FILE_SCHEME, files))
    this.track(workspace.registerTextDocumentContentProvider(REPORT_SCHEME, reports))
  }

  /** Re-render open reports of a repository whose runs changed. */
  public runsChanged(repo: string, runs: string[]): void {
    for (const document of workspace.textDocuments) {
      const address = document.uri.scheme === REPORT_SCHEME ? parseReportUri(document.uri) : undefined
      if (!address || address.repo !== repo) {
        continue
      }
      const involved = address.kind === 'run' ? [address.run] : [address.a, address.b]
      if (runs.length === 0 || involved.some(run => runs.includes(run))) {
        this.reportsChanged.fire(document.uri)
      }
    }
  }

  private async file(uri: Uri): Promise<string> {
    const address = parseFileUri(uri)
    const client = address && this.repositories.get(address.repo)
    if (!address || !client) {
      throw new Error(`gitexp: no repository serves ${uri.toString()}`)
    }
    const result = await client.file(address.run, address.path)
    return result.exists ? (result.content ?? '') : ''
  }

  private async report(uri: Uri): Promise<string> {
    const address = parseReportUri(uri)
    const client = address && this.repositories.get(address.repo)
    if (!address || !client) {
      throw new Error(`gitexp: no repository serves ${uri.toString()}`)
    }
    try {
      return address.kind === 'run'
        ? renderRunMarkdown(await client.run(address.run))
        : renderDiffMarkdown(await client.diff(address.a, address.b))
    } catch (error) {
      return `# gitexp\n\n${errorMessage(error)}\n`
    }
  }
}
