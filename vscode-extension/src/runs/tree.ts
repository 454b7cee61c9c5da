import { execFile } from 'child_process'
import { promisify } from 'util'
import {
  EventEmitter,
  type Event,
  type TreeDataProvider,
  type TreeItem,
  type TreeView,
  commands,
  window,
  workspace
} from 'vscode'
import type { GitexpClient } from '../languageClient/client'
import { errorMessage } from '../util/errors'
import type { RunSummary } from '../languageClient/protocol'
import type { Repositories } from '../repository/registry'
import { Disposable } from '../util/disposable'
import {
  type Page,
  type RunsNode,
  type ViewState,
  collectRepoNodes,
  collectRunNodes,
  collectSweepNodes,
  describeView,
  sweepsFromRefs
} from './collect'
import { runsTreeItem } from './items'

/** The sweeps of `root` read straight from its refs (see `sweepsFromRefs`), or undefined. */
const sweepsOfRefs = async (root: string) => {
  try {
    const { stdout } = await promisify(execFile)('git', ['for-each-ref', '--format=%(refname)', 'refs/experiments/'], {
      cwd: root,
      maxBuffer: 256 << 20,
      timeout: 10_000
    })
    return sweepsFromRefs(stdout)
  } catch {
    return undefined
  }
}

/** What the extension hears from the Runs view: its log line, and its first sweeps listed. */
export interface RunsTreeHooks {
  log?: (line: string) => void
  /** called once, when the view has listed sweeps for the first time (from the refs or the server) */
  onFirstSweeps?: () => void
}

const pageSize = (): number =>
  Math.max(1, workspace.getConfiguration('gitexp').get<number>('pageSize', 50))

/**
 * The Runs view: repositories (when there are several) -> sweeps -> runs. Runs load one
 * page at a time per sweep; a refresh (manual or `gitexp/runsChanged`) reloads as many
 * runs as were shown, so expanded sweeps keep their length.
 */
export class RunsTree extends Disposable implements TreeDataProvider<RunsNode> {
  public readonly onDidChangeTreeData: Event<RunsNode | undefined>
  public readonly view: TreeView<RunsNode>
  private readonly changed = this.track(new EventEmitter<RunsNode | undefined>())
  private readonly pages = new Map<string, Page>()
  private readonly shown = new Map<string, number>()
  private readonly subscribed = new WeakSet<GitexpClient>()
  private state: ViewState = { filter: '', sort: 'created', descending: true, keyMetric: '' }
  private listedOnce = false

  constructor(
    private readonly repositories: Repositories,
    private readonly hooks: RunsTreeHooks = {}
  ) {
    super()
    this.onDidChangeTreeData = this.changed.event
    this.state.keyMetric = workspace.getConfiguration('gitexp').get<string>('keyMetric', '')
    this.view = this.track(
      window.createTreeView('gitexp.runs', {
        treeDataProvider: this,
        canSelectMany: true,
        showCollapseAll: true
      })
    )
    this.track(repositories.onDidChange(() => this.refresh()))
    this.track(
      workspace.onDidChangeConfiguration(event => {
        if (event.affectsConfiguration('gitexp.keyMetric') || event.affectsConfiguration('gitexp.pageSize')) {
          this.state.keyMetric = workspace.getConfiguration('gitexp').get<string>('keyMetric', '')
          this.refresh()
        }
      })
    )
    this.updateDescription()
  }

  public get viewState(): Readonly<ViewState> {
    return this.state
  }

  /** Every run loaded so far (for sort keys and run pickers). */
  public loadedRuns(repo?: string): RunSummary[] {
    const runs: RunSummary[] = []
    for (const [key, page] of this.pages) {
      if (repo === undefined || key.startsWith(`${repo}\0`)) {
        runs.push(...page.runs)
      }
    }
    return runs
  }

  public refresh(repo?: string): void {
    for (const key of [...this.pages.keys()]) {
      if (repo === undefined || key.startsWith(`${repo}\0`)) {
        this.pages.delete(key)
      }
    }
    this.changed.fire(undefined)
  }

  public setFilter(filter: string): void {
    this.state.filter = filter.trim()
    this.shown.clear()
    void commands.executeCommand('setContext', 'gitexp.runs.filtered', this.state.filter !== '')
    this.updateDescription()
    this.refresh()
  }

  public setSort(sort: string, descending: boolean): void {
    this.state.sort = sort
    this.state.descending = descending
    this.shown.clear()
    this.updateDescription()
    this.refresh()
  }

  public async loadMore(node: Extract<RunsNode, { kind: 'more' }>): Promise<void> {
    const key = `${node.repo}\0${node.sweep}`
    const page = this.pages.get(key)
    const client = this.repositories.get(node.repo)
    if (!page || !client) {
      return
    }
    try {
      const next = await client.runs(this.params(node.sweep, page.runs.length, pageSize()))
      const known = new Set(page.runs.map(run => run.run))
      page.runs.push(...next.runs.filter(run => !known.has(run.run)))
      page.total = next.total
      this.shown.set(key, page.runs.length)
    } catch (error) {
      void window.showErrorMessage(`gitexp: could not load more runs: ${errorMessage(error)}`)
    }
    this.changed.fire(undefined)
  }

  public getTreeItem(node: RunsNode): TreeItem {
    return runsTreeItem(node)
  }

  public async getChildren(node?: RunsNode): Promise<RunsNode[]> {
    if (node === undefined) {
      const clients = this.repositories.list()
      clients.forEach(client => this.subscribe(client))
      if (clients.length === 1) {
        return this.sweeps(clients[0])
      }
      return collectRepoNodes(clients.map(client => ({ root: client.root, name: client.name })))
    }
    const client = node.repo === undefined ? undefined : this.repositories.get(node.repo)
    if (!client) {
      return []
    }
    if (node.kind === 'repo') {
      return this.sweeps(client)
    }
    if (node.kind === 'sweep') {
      return this.runs(client, node.sweep.sweep)
    }
    return []
  }

  private subscribe(client: GitexpClient): void {
    if (this.subscribed.has(client)) {
      return
    }
    this.subscribed.add(client)
    client.onDidChangeRuns(() => this.refresh(client.root))
  }

  private async sweeps(client: GitexpClient): Promise<RunsNode[]> {
    if (client.state.kind === 'failed') {
      const text = client.state.missingExecutable
        ? 'gitexp executable not found: set gitexp.executable'
        : 'gitexp language server is not running'
      return [this.error(client.root, text, client.state.message)]
    }
    if (client.state.kind === 'starting' && !this.state.filter) {
      // Show the sweeps now, from the refs; the server's answer replaces them once it is up.
      const quick = await sweepsOfRefs(client.root)
      if (quick && client.state.kind === 'starting') {
        const once = client.onDidChangeState(() => {
          once.dispose()
          this.refresh(client.root)
        })
        this.track(once)
        this.listed(quick.length, 'from the refs, the server still starting')
        return collectSweepNodes(client.root, quick, '')
      }
    }
    try {
      const result = await client.runs({ filter: this.state.filter || undefined, limit: 0 })
      this.listed(result.sweeps.length, 'from the server')
      return collectSweepNodes(client.root, result.sweeps, this.state.filter)
    } catch (error) {
      return [this.error(client.root, `Cannot list runs: ${errorMessage(error)}`)]
    }
  }

  /** The first listing is logged (the e2e reads when, to split the sidebar's first open). */
  private listed(sweeps: number, how: string): void {
    if (!this.listedOnce) {
      this.listedOnce = true
      this.hooks.log?.(`Runs view: first listing, ${sweeps} sweeps ${how}`)
      this.hooks.onFirstSweeps?.()
    }
  }

  private async runs(client: GitexpClient, sweep: string): Promise<RunsNode[]> {
    const key = `${client.root}\0${sweep}`
    let page = this.pages.get(key)
    if (!page) {
      try {
        const limit = Math.max(pageSize(), this.shown.get(key) ?? 0)
        const result = await client.runs(this.params(sweep, 0, limit))
        page = { runs: result.runs, total: result.total }
        this.pages.set(key, page)
      } catch (error) {
        return [this.error(client.root, `Cannot list runs of ${sweep}: ${errorMessage(error)}`)]
      }
    }
    return collectRunNodes(client.root, sweep, page, this.state)
  }

  private params(sweep: string, offset: number, limit: number) {
    return {
      sweep,
      filter: this.state.filter || undefined,
      sort: this.state.sort,
      descending: this.state.descending,
      offset,
      limit
    }
  }

  private error(repo: string, text: string, detail?: string): RunsNode {
    return { kind: 'message', id: `error:${repo}`, repo, text, error: true, detail }
  }

  private updateDescription(): void {
    this.view.description = describeView(this.state) || undefined
  }
}
