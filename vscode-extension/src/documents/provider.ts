import { type TextDocumentContentProvider, type Uri, workspace } from 'vscode'
import type { Repositories } from '../repository/registry'
import { Disposable } from '../util/disposable'
import { FILE_SCHEME, parseFileUri } from './uri'

/**
 * Serves the `gitexp:` read-only documents: files as they were in a run (from
 * `gitexp/file`). Run files never change, so there is nothing to refresh.
 */
export class Documents extends Disposable {
  constructor(private readonly repositories: Repositories) {
    super()
    const files: TextDocumentContentProvider = { provideTextDocumentContent: uri => this.file(uri) }
    this.track(workspace.registerTextDocumentContentProvider(FILE_SCHEME, files))
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
}
