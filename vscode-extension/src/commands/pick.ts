import { type QuickPickItem, window } from 'vscode'
import type { GitexpClient } from '../languageClient/client'
import { errorMessage } from '../util/errors'
import type { RunSummary } from '../languageClient/protocol'
import type { Repositories } from '../repository/registry'
import { describeRun } from '../runs/collect'

/** The repository a palette command acts on: the only one, or the user's choice. */
export const pickRepository = async (
  repositories: Repositories
): Promise<GitexpClient | undefined> => {
  const clients = repositories.list()
  if (clients.length === 0) {
    void window.showWarningMessage('gitexp: open a folder inside a git repository first.')
    return undefined
  }
  if (clients.length === 1) {
    return clients[0]
  }
  const picked = await window.showQuickPick(
    clients.map(client => ({ label: client.name, description: client.root, client })),
    { title: 'gitexp: choose a repository' }
  )
  return picked?.client
}

interface RunItem extends QuickPickItem {
  run: RunSummary
}

/** Pick runs of one repository (newest first), optionally excluding some. */
export const pickRuns = async (
  client: GitexpClient,
  options: { title: string; many: boolean; exclude?: string[] }
): Promise<RunSummary[] | undefined> => {
  let runs: RunSummary[]
  try {
    runs = (await client.runs({ limit: 500 })).runs
  } catch (error) {
    void window.showErrorMessage(`gitexp: cannot list runs: ${errorMessage(error)}`)
    return undefined
  }
  const items: RunItem[] = runs
    .filter(run => !options.exclude?.includes(run.run))
    .map(run => ({ label: run.run, description: describeRun(run, Object.keys(run.metrics).sort()[0]), run }))
  if (items.length === 0) {
    void window.showInformationMessage('gitexp: no runs to choose from.')
    return undefined
  }
  if (options.many) {
    const picked = await window.showQuickPick(items, { title: options.title, canPickMany: true })
    return picked?.map(item => item.run)
  }
  const picked = await window.showQuickPick(items, { title: options.title, matchOnDescription: true })
  return picked ? [picked.run] : undefined
}
