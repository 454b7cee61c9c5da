import { EventEmitter, type Event, type LogOutputChannel, Uri, commands, window, workspace } from 'vscode'
import { GitexpClient } from '../languageClient/client'
import { PYTHON_ANSWER_MS, onDidChangePython, pythonIsActive, selectedPythonBin, selectedPythonBinWithin } from '../python/interpreter'
import { Disposable } from '../util/disposable'
import { collectRepoRoots, rootForPath } from './roots'

export interface Settings {
  executable: string
  sweepGlob: string
}

const readSettings = (): Settings => {
  const config = workspace.getConfiguration('gitexp')
  return {
    executable: config.get<string>('executable', 'gitexp'),
    sweepGlob: config.get<string>('sweepFiles', '**/*.{yml,yaml}')
  }
}

/**
 * The repositories of the workspace, one language server each. Follows workspace folder
 * changes and restarts every server when a setting they were started with changes.
 */
export class Repositories extends Disposable {
  public readonly onDidChange: Event<void>
  private readonly changed = this.track(new EventEmitter<void>())
  private readonly clients = new Map<string, GitexpClient>()
  private settings = readSettings()
  private syncing: Promise<void> = Promise.resolve()
  private toldMissing = false

  /**
   * `pythonAfter`: resolves when the Python extension may be asked (and so activated) for its
   * interpreter; it is asked at once when it is already active.
   */
  constructor(
    private readonly output: LogOutputChannel,
    private readonly pythonAfter: Promise<void> = Promise.resolve()
  ) {
    super()
    this.onDidChange = this.changed.event
    this.track(workspace.onDidChangeWorkspaceFolders(() => this.sync()))
    this.track(
      workspace.onDidChangeConfiguration(event => {
        if (
          event.affectsConfiguration('gitexp.executable') ||
          event.affectsConfiguration('gitexp.sweepFiles')
        ) {
          this.restart()
        }
      })
    )
    this.track({ dispose: () => this.stopAll() })
    // Another interpreter selected: its environment may hold another gitexp, and launches
    // must use its python; start every server again from there.
    void this.whenPythonMayBeAsked().then(() => onDidChangePython(() => void this.pythonChanged()))
      .then(subscription => subscription && (this.isDisposed ? subscription.dispose() : this.track(subscription)))
  }

  /**
   * Restart the servers when a repository's selected interpreter is not the one its server
   * started with. The Python extension also fires its change event when nothing changed
   * (once after it starts): restarting then would cost a server start for nothing.
   */
  private async pythonChanged(): Promise<void> {
    for (const client of this.list()) {
      const [used, selected] = await Promise.all([client.pythonBinUsed(), selectedPythonBin(Uri.file(client.root))])
      if (this.isDisposed || this.clients.get(client.root) !== client) {
        return  // restarted meanwhile: the new servers asked for themselves
      }
      if (used !== selected) {
        this.output.info(`gitexp: the Python interpreter changed (${selected ?? 'none'}); restarting the language servers`)
        this.restart()
        return
      }
    }
  }

  /** Resolves once the current workspace folders have their clients. */
  public sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.syncNow())
    return this.syncing
  }

  public restart(): void {
    this.settings = readSettings()
    this.toldMissing = false
    this.stopAll()
    this.changed.fire()
    void this.sync()
  }

  public list(): GitexpClient[] {
    return [...this.clients.values()]
  }

  public get(root: string): GitexpClient | undefined {
    return this.clients.get(root)
  }

  /** The client whose repository holds a file system path. */
  public forPath(path: string): GitexpClient | undefined {
    const root = rootForPath([...this.clients.keys()], path)
    return root === undefined ? undefined : this.clients.get(root)
  }

  private async syncNow(): Promise<void> {
    const folders = (workspace.workspaceFolders ?? [])
      .filter(folder => folder.uri.scheme === 'file')
      .map(folder => folder.uri.fsPath)
    const roots = await collectRepoRoots(folders)
    if (this.isDisposed) {
      return
    }
    let changed = false
    for (const [root, client] of this.clients) {
      if (!roots.includes(root)) {
        client.dispose()
        this.clients.delete(root)
        changed = true
      }
    }
    for (const root of roots) {
      if (!this.clients.has(root)) {
        const pythonBin = this.whenPythonMayBeAsked().then(async () => {
          const asked = Date.now()
          const answer = await selectedPythonBinWithin(Uri.file(root), PYTHON_ANSWER_MS)
          if (!answer.answered) {
            this.output.warn(`gitexp: the Python extension gave no interpreter in ${PYTHON_ANSWER_MS / 1000} s; ` +
              'starting without it (it restarts the server from there once it answers)')
            void answer.late.then(() => this.pythonChanged())
            return undefined
          }
          this.output.info(`gitexp: the Python extension's interpreter for ${root}: ${answer.bin ?? 'none'} (answered in ${Date.now() - asked} ms)`)
          return answer.bin
        })
        const client = new GitexpClient({ root, output: this.output, pythonBin, ...this.settings })
        client.onDidChangeState(state => {
          if (state.kind === 'failed' && state.missingExecutable) {
            this.tellMissing(state.message)
          }
          this.changed.fire()
        })
        this.clients.set(root, client)
        changed = true
      }
    }
    if (changed) {
      this.changed.fire()
    }
  }

  private whenPythonMayBeAsked(): Promise<void> {
    return pythonIsActive() ? Promise.resolve() : this.pythonAfter
  }

  /** Once per setting value, however many repositories: the fix is the same for all. */
  private tellMissing(message: string): void {
    if (this.toldMissing) {
      return
    }
    this.toldMissing = true
    void window.showErrorMessage(message, 'Open Settings', 'Show Output').then(answer => {
      if (answer === 'Open Settings') {
        void commands.executeCommand('workbench.action.openSettings', 'gitexp.executable')
      } else if (answer === 'Show Output') {
        this.output.show()
      }
    })
  }

  private stopAll(): void {
    for (const client of this.clients.values()) {
      client.dispose()
    }
    this.clients.clear()
  }
}
