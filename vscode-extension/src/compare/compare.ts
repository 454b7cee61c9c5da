import { posix } from 'path'
import { commands, window, workspace } from 'vscode'
import type { GitexpClient } from '../languageClient/client'
import { errorMessage } from '../util/errors'
import type { DiffResult } from '../languageClient/protocol'
import { fileUri, reportUri } from '../documents/uri'

export interface FileDiff {
  path: string
  left: string
  right: string
}

/**
 * The diff editors a comparison opens: one per changed file, a's version on the left.
 * An added file has nothing on a's side and a deleted one nothing on b's; the `gitexp:`
 * provider serves such a missing side as an empty document.
 */
export const collectFileDiffs = (diff: DiffResult, max: number): { diffs: FileDiff[]; skipped: number } => {
  const files = diff.snapshot_a === diff.snapshot_b ? [] : diff.files
  return {
    diffs: files.slice(0, Math.max(0, max)).map(file => ({ path: file.path, left: diff.a, right: diff.b })),
    skipped: Math.max(0, files.length - Math.max(0, max))
  }
}

/** Open the params/metrics report, then each changed file in VS Code's diff editor. */
export const compareRuns = async (client: GitexpClient, a: string, b: string): Promise<void> => {
  let diff: DiffResult
  try {
    diff = await client.diff(a, b)
  } catch (error) {
    void window.showErrorMessage(`gitexp: cannot compare ${a} and ${b}: ${errorMessage(error)}`)
    return
  }
  const report = await workspace.openTextDocument(reportUri({ kind: 'diff', repo: client.root, a, b }))
  await window.showTextDocument(report, { preview: false })
  const max = workspace.getConfiguration('gitexp').get<number>('maxDiffEditors', 10)
  const { diffs, skipped } = collectFileDiffs(diff, max)
  for (const file of diffs) {
    await commands.executeCommand(
      'vscode.diff',
      fileUri(client.root, file.left, file.path),
      fileUri(client.root, file.right, file.path),
      `${posix.basename(file.path)} (${file.left} ↔ ${file.right})`,
      { preview: false }
    )
  }
  if (skipped > 0) {
    void window.showInformationMessage(
      `gitexp: opened ${diffs.length} diff editors; ${skipped} more files changed (see the report, or raise gitexp.maxDiffEditors).`
    )
  }
}
