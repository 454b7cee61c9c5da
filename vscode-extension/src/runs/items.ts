import {
  MarkdownString,
  ThemeColor,
  ThemeIcon,
  TreeItem,
  TreeItemCollapsibleState
} from 'vscode'
import { LIVE_STATUSES, type RunsNode, describeRun, runTooltip } from './collect'

const STATUS_ICONS: Record<string, [string, string | undefined]> = {
  completed: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  running: ['sync~spin', 'charts.blue'],
  queued: ['clock', undefined],
  cancelled: ['circle-slash', 'disabledForeground'],
  lost: ['question', 'list.warningForeground'],
  pruned: ['debug-step-out', 'charts.orange']
}

export const statusIcon = (status: string): ThemeIcon => {
  const [id, color] = STATUS_ICONS[status] ?? ['circle-outline', undefined]
  return new ThemeIcon(id, color ? new ThemeColor(color) : undefined)
}

/**
 * The tree item of a Runs node. contextValue drives the menus in package.json:
 * `gitexpRun.live` for runs that can be killed, `gitexpRun.done` for the others.
 */
export const runsTreeItem = (node: RunsNode): TreeItem => {
  switch (node.kind) {
    case 'repo': {
      const item = new TreeItem(node.name, TreeItemCollapsibleState.Expanded)
      item.id = node.id
      item.iconPath = new ThemeIcon('repo')
      item.tooltip = node.repo
      item.contextValue = 'gitexpRepo'
      return item
    }
    case 'sweep': {
      const { sweep } = node
      const item = new TreeItem(sweep.sweep, TreeItemCollapsibleState.Collapsed)
      item.id = node.id
      item.iconPath = new ThemeIcon(sweep.running > 0 ? 'sync~spin' : 'beaker')
      const count = sweep.matching === undefined ? sweep.runs : sweep.matching
      item.description =
        (sweep.matching === undefined ? '' : `${count} of `) +
        `${sweep.runs} run${sweep.runs === 1 ? '' : 's'}` +
        (sweep.matching === undefined ? '' : ' match') +
        (sweep.running > 0 ? ` · ${sweep.running} running` : '')
      item.contextValue = 'gitexpSweep'
      return item
    }
    case 'run': {
      const { run } = node
      const item = new TreeItem(run.name, TreeItemCollapsibleState.None)
      item.id = node.id
      item.iconPath = statusIcon(run.status)
      item.description = describeRun(run, node.keyMetric)
      item.tooltip = new MarkdownString(runTooltip(run))
      item.accessibilityInformation = {
        label: `${run.run}, ${run.status}${item.description ? `, ${item.description}` : ''}`
      }
      item.contextValue = LIVE_STATUSES.has(run.status) ? 'gitexpRun.live' : 'gitexpRun.done'
      return item
    }
    case 'more': {
      const item = new TreeItem(
        `Load more… (${node.loaded} of ${node.total})`,
        TreeItemCollapsibleState.None
      )
      item.id = node.id
      item.iconPath = new ThemeIcon('ellipsis')
      item.contextValue = 'gitexpMore'
      item.command = { command: 'gitexp.loadMore', title: 'Load More Runs', arguments: [node] }
      return item
    }
    case 'message': {
      const item = new TreeItem(node.text, TreeItemCollapsibleState.None)
      item.id = node.id
      if (node.error) {
        item.iconPath = new ThemeIcon('error', new ThemeColor('list.errorForeground'))
        item.tooltip = `${node.detail ?? node.text}\n\nClick to open the gitexp output.`
        item.command = { command: 'gitexp.showOutput', title: 'Show gitexp Output' }
        item.contextValue = 'gitexpError'
      } else {
        item.iconPath = new ThemeIcon('info')
        item.contextValue = 'gitexpMessage'
      }
      return item
    }
  }
}
