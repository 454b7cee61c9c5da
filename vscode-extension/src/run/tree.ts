import {
  EventEmitter,
  type Event,
  ThemeIcon,
  TreeItem,
  TreeItemCollapsibleState,
  type TreeDataProvider,
  type TreeView,
  window
} from 'vscode'
import { errorMessage } from '../util/errors'
import type { RunDetail } from '../languageClient/protocol'
import type { Repositories } from '../repository/registry'
import { fileUri } from '../documents/uri'
import { Disposable } from '../util/disposable'
import { type RunDetailNode, artifactDescription, collectRunDetail, fileStatusLabel } from './collect'

export interface SelectedRun {
  repo: string
  run: string
}

/** The Run view: params, metrics, artifacts and changed files of the run selected in Runs. */
export class RunTree extends Disposable implements TreeDataProvider<RunDetailNode> {
  public readonly onDidChangeTreeData: Event<RunDetailNode | undefined>
  public readonly view: TreeView<RunDetailNode>
  private readonly changed = this.track(new EventEmitter<RunDetailNode | undefined>())
  private selected: SelectedRun | undefined
  private detail: RunDetail | undefined

  constructor(private readonly repositories: Repositories) {
    super()
    this.onDidChangeTreeData = this.changed.event
    this.view = this.track(window.createTreeView('gitexp.run', { treeDataProvider: this }))
    this.view.message = 'Select a run in the Runs view.'
  }

  public get selection(): SelectedRun | undefined {
    return this.selected
  }

  public show(selected: SelectedRun | undefined): void {
    if (selected?.repo === this.selected?.repo && selected?.run === this.selected?.run) {
      return
    }
    this.selected = selected
    this.detail = undefined
    this.view.description = selected?.run
    this.view.message = selected ? undefined : 'Select a run in the Runs view.'
    this.changed.fire(undefined)
  }

  /** Reload when the shown run changed (an empty list means anything may have changed). */
  public runsChanged(repo: string, runs: string[]): void {
    if (this.selected?.repo === repo && (runs.length === 0 || runs.includes(this.selected.run))) {
      this.detail = undefined
      this.changed.fire(undefined)
    }
  }

  public getTreeItem(node: RunDetailNode): TreeItem {
    switch (node.kind) {
      case 'group': {
        const item = new TreeItem(node.label, TreeItemCollapsibleState.Expanded)
        item.id = node.id
        item.iconPath = new ThemeIcon(node.icon)
        return item
      }
      case 'value': {
        const item = new TreeItem(node.label, TreeItemCollapsibleState.None)
        item.id = node.id
        item.description = node.value
        item.tooltip = node.tooltip ?? `${node.label}: ${node.value}`
        item.contextValue = 'gitexpValue'
        return item
      }
      case 'artifact': {
        const item = new TreeItem(node.path, TreeItemCollapsibleState.None)
        item.id = node.id
        item.iconPath = new ThemeIcon('file-binary')
        item.description = artifactDescription(node.size)
        item.tooltip = `${node.path}\nsha256 ${node.sha256}`
        item.contextValue = 'gitexpArtifact'
        return item
      }
      case 'file': {
        const item = new TreeItem(node.path, TreeItemCollapsibleState.None)
        item.id = node.id
        item.resourceUri = fileUri(node.repo, node.run, node.path)
        item.description = fileStatusLabel(node.status)
        item.contextValue = node.status === 'D' ? 'gitexpFile.deleted' : 'gitexpFile'
        if (node.status !== 'D') {
          item.command = {
            command: 'gitexp.openFile',
            title: 'Open File as in Run',
            arguments: [node]
          }
        }
        return item
      }
    }
  }

  public async getChildren(node?: RunDetailNode): Promise<RunDetailNode[]> {
    if (node) {
      return node.kind === 'group' ? node.children : []
    }
    const selected = this.selected
    if (!selected) {
      return []
    }
    const client = this.repositories.get(selected.repo)
    if (!client) {
      return []
    }
    try {
      const detail = this.detail ?? (await client.run(selected.run))
      if (this.selected !== selected) {
        return []
      }
      this.detail = detail
      this.view.message = undefined
      return collectRunDetail(selected.repo, detail)
    } catch (error) {
      this.view.message = `Cannot show ${selected.run}: ${errorMessage(error)}`
      return []
    }
  }
}
