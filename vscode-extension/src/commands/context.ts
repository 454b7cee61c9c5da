import type { LogOutputChannel } from 'vscode'
import type { ExperimentsPanels } from '../experiments/panel'
import type { Repositories } from '../repository/registry'
import type { ReportPanels } from '../report/panel'
import type { RunTree } from '../run/tree'
import type { RunsTree } from '../runs/tree'
import type { Terminals } from '../vscode/terminal'
import type { PlotPanel } from '../plot/panel'
import type { QueryPanel } from '../query/panel'

/** What command handlers act on; built once in extension.ts. */
export interface CommandContext {
  output: LogOutputChannel
  repositories: Repositories
  runsTree: RunsTree
  runTree: RunTree
  terminals: Terminals
  plotPanel: PlotPanel
  queryPanel: QueryPanel
  reports: ReportPanels
  experiments: ExperimentsPanels
}
