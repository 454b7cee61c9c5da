import { type ExtensionContext, commands, window } from 'vscode'
import { registerCommands, tableAction } from './commands/register'
import { Documents } from './documents/provider'
import { ExperimentsPanels } from './experiments/panel'
import { PlotPanel } from './plot/panel'
import { ReportPanels } from './report/panel'
import { QueryPanel } from './query/panel'
import { Repositories } from './repository/registry'
import { RunTree } from './run/tree'
import { type RunNode, selectedRuns } from './runs/collect'
import { RunsTree } from './runs/tree'
import { Disposable } from './util/disposable'
import { Terminals } from './vscode/terminal'

/** How long the Python extension's activation may wait for the Runs view's first listing. */
const PYTHON_AT_THE_LATEST_MS = 3000

/** Wires the parts together; each part owns (and disposes) what it creates. */
class Extension extends Disposable {
  constructor(context: ExtensionContext) {
    super()
    const output = this.track(window.createOutputChannel('gitexp', { log: true }))
    output.info('gitexp: activated')
    // The Python extension is asked for its interpreter once the Runs view has listed its
    // sweeps (or after a few seconds): its activation runs on the extension host's one
    // thread and would hold up the view's first request behind it.
    let sidebarListed = (): void => undefined
    const pythonAfter = new Promise<void>(resolve => {
      sidebarListed = resolve
      setTimeout(resolve, PYTHON_AT_THE_LATEST_MS)
    })
    const repositories = this.track(new Repositories(output, pythonAfter))
    const runsTree = this.track(
      new RunsTree(repositories, { log: line => output.info(line), onFirstSweeps: () => sidebarListed() })
    )
    const runTree = this.track(new RunTree(repositories))
    this.track(new Documents(repositories))
    const experiments = this.track(new ExperimentsPanels(context.extensionUri, context.workspaceState, tableAction))
    const commandContext = {
      output,
      repositories,
      runsTree,
      runTree,
      terminals: this.track(new Terminals()),
      plotPanel: this.track(new PlotPanel(context.extensionUri, (root, runs) => experiments.brush(root, runs), line => output.info(line))),
      queryPanel: this.track(new QueryPanel()),
      reports: this.track(new ReportPanels()),
      experiments
    }
    registerCommands(commandContext).forEach(command => this.track(command))

    this.track(
      runsTree.view.onDidChangeSelection(({ selection }) => {
        const [first]: RunNode[] = selectedRuns(undefined, selection)
        if (first) {
          runTree.show({ repo: first.repo, run: first.run.run })
        }
      })
    )
    const subscribed = new WeakSet<object>()
    this.track(
      repositories.onDidChange(() => {
        void commands.executeCommand('setContext', 'gitexp.hasRepositories', repositories.list().length > 0)
        experiments.rebind(repositories.list())
        for (const client of repositories.list()) {
          if (subscribed.has(client)) {
            continue
          }
          subscribed.add(client)
          client.onDidChangeRuns(({ runs }) => {
            runTree.runsChanged(client.root, runs)
          })
        }
      })
    )
    void repositories.sync().then(() =>
      commands.executeCommand('setContext', 'gitexp.hasRepositories', repositories.list().length > 0)
    )
  }
}

let extension: Extension | undefined

export const activate = (context: ExtensionContext): void => {
  extension = new Extension(context)
  context.subscriptions.push(extension)
}

export const deactivate = (): void => {
  extension?.dispose()
  extension = undefined
}
