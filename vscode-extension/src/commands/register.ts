import { basename, dirname, extname, posix, relative } from 'path'
import { Uri, commands, env, window, workspace } from 'vscode'
import { fileUri } from '../documents/uri'
import { parseTagEdit } from '../experiments/values'
import type { GitexpClient } from '../languageClient/client'
import { errorMessage } from '../util/errors'
import { ServerCommand } from '../languageClient/protocol'
import type { RunDetailNode } from '../run/collect'
import { type RunsNode, collectSortKeys, selectedRuns } from '../runs/collect'
import type { Disposer } from '../util/disposable'
import { shellWord, withExecutable, withPath } from '../vscode/terminal'
import { watchLaunch } from './launch'
import type { CommandContext } from './context'
import { pickRepository, pickRuns } from './pick'

type FileNode = Extract<RunDetailNode, { kind: 'file' }>

/** Runs a command acts on: the view's selection, else the Run view's run, else a pick. */
const targetRuns = async (
  ctx: CommandContext,
  clicked: unknown,
  selection: unknown,
  title: string,
  many: boolean
): Promise<{ client: GitexpClient; runs: string[] } | undefined> => {
  const link = clicked as { repo?: unknown; runs?: unknown; run?: unknown } | undefined
  if (link && typeof link.repo === 'string' && (Array.isArray(link.runs) || typeof link.run === 'string')) {
    const client = ctx.repositories.get(link.repo)
    const runs = Array.isArray(link.runs) ? (link.runs as string[]) : [link.run as string]
    return client && { client, runs: many ? runs : runs.slice(0, 1) }
  }
  const nodes = selectedRuns(clicked, selection ?? ctx.runsTree.view.selection)
  if (nodes.length > 0) {
    const client = ctx.repositories.get(nodes[0].repo)
    const runs = nodes.filter(node => node.repo === nodes[0].repo).map(node => node.run.run)
    return client && { client, runs: many ? runs : runs.slice(0, 1) }
  }
  const shown = ctx.runTree.selection
  const shownClient = shown && ctx.repositories.get(shown.repo)
  if (shown && shownClient) {
    return { client: shownClient, runs: [shown.run] }
  }
  const client = await pickRepository(ctx.repositories)
  const picked = client && (await pickRuns(client, { title, many }))
  return client && picked && picked.length > 0 ? { client, runs: picked.map(run => run.run) } : undefined
}

const reportBatch = (verb: string, result: { done: string[]; errors: { run: string; message: string }[] }): void => {
  if (result.errors.length > 0) {
    void window.showErrorMessage(
      `gitexp: ${verb} failed for ${result.errors.map(error => `${error.run} (${error.message})`).join(', ')}`
    )
  } else {
    window.setStatusBarMessage(`gitexp: ${verb} ${result.done.length} run(s)`, 4000)
  }
}

const runServerCommand = async (ctx: CommandContext, command: string, arg: unknown): Promise<void> => {
  const uri = arg instanceof Uri ? arg : typeof arg === 'string' ? Uri.parse(arg) : window.activeTextEditor?.document.uri
  if (!uri || uri.scheme !== 'file') {
    void window.showWarningMessage('gitexp: open a sweep file (YAML) to run it.')
    return
  }
  const client = ctx.repositories.forPath(uri.fsPath)
  if (!client) {
    void window.showWarningMessage(`gitexp: ${uri.fsPath} is not inside a repository of this workspace.`)
    return
  }
  try {
    const document = workspace.textDocuments.find(doc => doc.uri.toString() === uri.toString())
    if (document?.isDirty) {
      await document.save()
    }
    const result = await client.executeCommand(command, [typeof arg === 'string' ? arg : uri.toString()])
    runInTerminal(ctx, client, result.command)
    if (command === ServerCommand.runSweep) {
      watchLaunch(ctx, client, basename(uri.fsPath, extname(uri.fsPath)))
    }
  } catch (error) {
    void window.showErrorMessage(`gitexp: ${errorMessage(error)}`)
  }
}

/** Run a `gitexp ...` command line in the repository's terminal with the gitexp we found. */
const runInTerminal = (ctx: CommandContext, client: GitexpClient, command: string, key?: string, name?: string): void => {
  const executable = client.executable ?? workspace.getConfiguration('gitexp').get<string>('executable', 'gitexp')
  const binDir = client.pythonBin ?? (client.executable ? dirname(client.executable) : undefined)
  ctx.terminals.run(client.root, name ?? client.name, withPath(withExecutable(command, executable), binDir), binDir, key)
}

const gitexpLine = (...words: string[]): string => ['gitexp', ...words.map(shellWord)].join(' ')

const plot = async (ctx: CommandContext, clicked: unknown, selection: unknown): Promise<void> => {
  let target: { client: GitexpClient; runs: string[] } | undefined
  const node = clicked as RunsNode | undefined
  if (node?.kind === 'sweep') {
    const client = ctx.repositories.get(node.repo)
    const runs = ctx.runsTree.loadedRuns(node.repo).filter(run => run.sweep === node.sweep.sweep)
    if (client && runs.length === 0) {
      runs.push(...(await client.runs({ sweep: node.sweep.sweep, limit: 500 })).runs)
    }
    target = client && { client, runs: runs.map(run => run.run) }
  } else {
    target = await targetRuns(ctx, clicked, selection, 'gitexp: runs to plot', true)
  }
  if (!target) {
    return
  }
  // The sort key and configured key metric are shown first when the runs logged them.
  const { sort, keyMetric } = ctx.runsTree.viewState
  await ctx.plotPanel.show(target.client, target.runs, [keyMetric, sort].filter(Boolean))
}

const compare = async (ctx: CommandContext, clicked: unknown, selection: unknown): Promise<void> => {
  const link = clicked as { repo?: string; runs?: string[] } | undefined
  const nodes = selectedRuns(clicked, selection ?? ctx.runsTree.view.selection)
  let client: GitexpClient | undefined
  let runs: string[] = []
  if (link && typeof link.repo === 'string' && Array.isArray(link.runs)) {
    client = ctx.repositories.get(link.repo)
    runs = [...link.runs]
  } else if (nodes.length > 0) {
    client = ctx.repositories.get(nodes[0].repo)
    runs = nodes.filter(node => node.repo === nodes[0].repo).map(node => node.run.run)
  } else {
    client = await pickRepository(ctx.repositories)
  }
  if (!client) {
    return
  }
  while (runs.length < 2) {
    const picked = await pickRuns(client, {
      title: runs.length === 0 ? 'gitexp: first run to compare' : `gitexp: compare ${runs[0]} with`,
      many: false,
      exclude: runs
    })
    if (!picked) {
      return
    }
    runs.push(picked[0].run)
  }
  await ctx.reports.show(client, runs)
}

const openFile = async (ctx: CommandContext, node?: FileNode): Promise<void> => {
  if (node?.kind === 'file') {
    await window.showTextDocument(fileUri(node.repo, node.run, node.path), { preview: true })
    return
  }
  const target = await targetRuns(ctx, undefined, [], 'gitexp: open a file as it was in run', false)
  if (!target) {
    return
  }
  const active = window.activeTextEditor?.document.uri
  const initial =
    active?.scheme === 'file' && ctx.repositories.forPath(active.fsPath) === target.client
      ? relative(target.client.root, active.fsPath).replace(/\\/g, '/')
      : ''
  const path = await window.showInputBox({
    title: `gitexp: file as it was in ${target.runs[0]}`,
    prompt: 'Path relative to the repository root',
    value: initial
  })
  if (path) {
    await window.showTextDocument(fileUri(target.client.root, target.runs[0], path.trim()))
  }
}

const sort = async (ctx: CommandContext): Promise<void> => {
  const state = ctx.runsTree.viewState
  const keys = collectSortKeys(ctx.runsTree.loadedRuns())
  const key = await window.showQuickPick(
    keys.map(label => ({ label, description: label === state.sort ? 'current' : undefined })),
    { title: 'gitexp: sort runs by', placeHolder: 'created, or a param or metric name' }
  )
  if (!key) {
    return
  }
  const direction = await window.showQuickPick(
    [
      { label: 'Descending', description: 'largest / newest first', descending: true },
      { label: 'Ascending', description: 'smallest / oldest first', descending: false }
    ],
    { title: `gitexp: sort by ${key.label}` }
  )
  if (direction) {
    ctx.runsTree.setSort(key.label, direction.descending)
  }
}

const query = async (ctx: CommandContext, last: { sql: string }): Promise<void> => {
  const client = await pickRepository(ctx.repositories)
  if (!client) {
    return
  }
  const sql = await window.showInputBox({
    title: 'gitexp: query runs',
    prompt: 'SQL over the runs index (gitexp query), e.g. select * order by acc desc',
    value: last.sql
  })
  if (!sql?.trim()) {
    return
  }
  last.sql = sql.trim()
  try {
    ctx.queryPanel.show(last.sql, await client.query(last.sql))
  } catch (error) {
    void window.showErrorMessage(`gitexp query: ${errorMessage(error)}`)
  }
}

/** A run's output, following live (`gitexp logs -f`), in a terminal of its own. */
const showLogs = async (ctx: CommandContext, clicked: unknown, selection: unknown): Promise<void> => {
  const target = await targetRuns(ctx, clicked, selection, 'gitexp: logs of run', false)
  if (target) {
    const run = target.runs[0]
    runInTerminal(ctx, target.client, gitexpLine('logs', '-f', run), `logs:${target.client.root}:${run}`, `logs ${run}`)
  }
}

const tagRuns = async (ctx: CommandContext, clicked: unknown, selection: unknown): Promise<void> => {
  const target = await targetRuns(ctx, clicked, selection, 'gitexp: runs to tag', true)
  if (!target) {
    return
  }
  const text = await window.showInputBox({
    title: `gitexp: tag ${target.runs.length === 1 ? target.runs[0] : `${target.runs.length} runs`}`,
    prompt: 'name, name=value, -name to remove (names: letters, digits, . _ -)',
    validateInput: value => {
      const edit = parseTagEdit(value)
      return 'error' in edit ? edit.error : undefined
    }
  })
  const edit = text === undefined ? undefined : parseTagEdit(text)
  if (edit && !('error' in edit)) {
    try {
      reportBatch('tagged', await target.client.tag({ runs: target.runs, ...edit }))
    } catch (error) {
      void window.showErrorMessage(`gitexp: tag failed: ${errorMessage(error)}`)
    }
  }
}

/** Apply, Branch and Push are gitexp commands the user should see run: the terminal. */
const inTerminal = async (ctx: CommandContext, verb: 'apply' | 'branch' | 'push', clicked: unknown, selection: unknown): Promise<void> => {
  const target = await targetRuns(ctx, clicked, selection, `gitexp: run to ${verb}`, verb === 'push')
  if (!target) {
    return
  }
  const run = target.runs[0]
  if (verb === 'apply') {
    runInTerminal(ctx, target.client, gitexpLine('apply', run))
  } else if (verb === 'branch') {
    const name = await window.showInputBox({ title: `gitexp: branch at the code of ${run}`, value: run.replace('/', '-') })
    if (name?.trim()) {
      runInTerminal(ctx, target.client, gitexpLine('branch', run, name.trim()))
    }
  } else {
    const remote = await window.showInputBox({ title: `gitexp: push ${target.runs.length} run(s) to`, value: 'origin' })
    if (remote?.trim()) {
      runInTerminal(ctx, target.client, gitexpLine('push', remote.trim(), ...target.runs))
    }
  }
}

const ACTIONS: Record<string, string> = {
  plot: 'gitexp.plotRuns',
  compare: 'gitexp.compareRuns',
  show: 'gitexp.showRun',
  logs: 'gitexp.showLogs',
  apply: 'gitexp.applyRun',
  branch: 'gitexp.branchRun',
  push: 'gitexp.pushRuns',
  delete: 'gitexp.deleteRuns',
  kill: 'gitexp.killRuns',
  copy: 'gitexp.copyCommand'
}

/** What the experiments table's buttons do: the same commands as everywhere, on its selection. */
export const tableAction = async (client: GitexpClient, action: string, runs: string[]): Promise<void> => {
  const command = ACTIONS[action]
  if (!command) {
    throw new Error(`unknown action ${action}`)
  }
  await commands.executeCommand(command, { repo: client.root, runs })
}

/** Register every gitexp command; the menus that show them live in package.json. */
export const registerCommands = (ctx: CommandContext): Disposer[] => {
  const lastQuery = { sql: 'select * order by created desc' }
  const handlers: Record<string, (...args: any[]) => unknown> = {
    'gitexp.refresh': () => {
      ctx.runsTree.refresh()
      for (const client of ctx.repositories.list()) {
        ctx.runTree.runsChanged(client.root, [])
      }
    },
    'gitexp.restartServers': () => ctx.repositories.restart(),
    'gitexp.showOutput': () => ctx.output.show(),
    'gitexp.filterRuns': async () => {
      const filter = await window.showInputBox({
        title: 'gitexp: filter runs',
        prompt: 'Matches run ids, statuses and param values (case-insensitive); empty clears',
        value: ctx.runsTree.viewState.filter
      })
      if (filter !== undefined) {
        ctx.runsTree.setFilter(filter)
      }
    },
    'gitexp.clearFilter': () => ctx.runsTree.setFilter(''),
    'gitexp.sortRuns': () => sort(ctx),
    'gitexp.loadMore': (node: Extract<RunsNode, { kind: 'more' }>) => ctx.runsTree.loadMore(node),
    'gitexp.showRun': async (clicked?: unknown, selection?: unknown) => {
      const target = await targetRuns(ctx, clicked, selection, 'gitexp: show run', false)
      if (target) {
        await ctx.reports.show(target.client, target.runs.slice(0, 1))
      }
    },
    'gitexp.compareRuns': (clicked?: unknown, selection?: unknown) => compare(ctx, clicked, selection),
    'gitexp.plotRuns': (clicked?: unknown, selection?: unknown) => plot(ctx, clicked, selection),
    'gitexp.openFile': (node?: FileNode) => openFile(ctx, node),
    'gitexp.compareWithWorkspace': async (node: FileNode) => {
      const local = Uri.file(`${node.repo}/${node.path}`)
      await commands.executeCommand(
        'vscode.diff',
        fileUri(node.repo, node.run, node.path),
        local,
        `${node.path} (${node.run} ↔ workspace)`
      )
    },
    'gitexp.query': () => query(ctx, lastQuery),
    'gitexp.showExperiments': async (node?: unknown) => {
      const repo = (node as { repo?: string } | undefined)?.repo
      const client = (repo && ctx.repositories.get(repo)) || (await pickRepository(ctx.repositories))
      if (client) {
        ctx.experiments.show(client)
      }
    },
    'gitexp.showLogs': (clicked?: unknown, selection?: unknown) => showLogs(ctx, clicked, selection),
    'gitexp.tagRuns': (clicked?: unknown, selection?: unknown) => tagRuns(ctx, clicked, selection),
    'gitexp.applyRun': (clicked?: unknown, selection?: unknown) => inTerminal(ctx, 'apply', clicked, selection),
    'gitexp.branchRun': (clicked?: unknown, selection?: unknown) => inTerminal(ctx, 'branch', clicked, selection),
    'gitexp.pushRuns': (clicked?: unknown, selection?: unknown) => inTerminal(ctx, 'push', clicked, selection),
    'gitexp.openRunFile': async (link: { repo: string; run: string; path: string }) =>
      window.showTextDocument(fileUri(link.repo, link.run, link.path), { preview: true }),
    'gitexp.openDiff': async (link: { repo: string; a: string; b: string; path: string }) =>
      commands.executeCommand(
        'vscode.diff',
        fileUri(link.repo, link.a, link.path),
        fileUri(link.repo, link.b, link.path),
        `${posix.basename(link.path)} (${link.a} ↔ ${link.b})`,
        { preview: false }
      ),
    'gitexp.runSweep': (uri?: unknown) => runServerCommand(ctx, ServerCommand.runSweep, uri),
    'gitexp.dryRun': (uri?: unknown) => runServerCommand(ctx, ServerCommand.dryRun, uri),
    'gitexp.killRuns': async (clicked?: unknown, selection?: unknown) => {
      const target = await targetRuns(ctx, clicked, selection, 'gitexp: runs to kill', true)
      if (target) {
        try {
          reportBatch('killed', await target.client.kill(target.runs))
        } catch (error) {
          void window.showErrorMessage(`gitexp: kill failed: ${errorMessage(error)}`)
        }
      }
    },
    'gitexp.deleteRuns': async (clicked?: unknown, selection?: unknown) => {
      const target = await targetRuns(ctx, clicked, selection, 'gitexp: runs to delete', true)
      if (!target) {
        return
      }
      const answer = await window.showWarningMessage(
        target.runs.length === 1
          ? `Delete run ${target.runs[0]}? Its ref is removed (like gitexp rm).`
          : `Delete ${target.runs.length} runs? Their refs are removed (like gitexp rm).`,
        { modal: true },
        'Delete'
      )
      if (answer === 'Delete') {
        try {
          reportBatch('deleted', await target.client.delete(target.runs))
          ctx.runsTree.refresh(target.client.root)
        } catch (error) {
          void window.showErrorMessage(`gitexp: delete failed: ${errorMessage(error)}`)
        }
      }
    },
    'gitexp.copyCommand': async (clicked?: unknown, selection?: unknown) => {
      const target = await targetRuns(ctx, clicked, selection, 'gitexp: copy the command of run', false)
      if (target) {
        try {
          const detail = await target.client.run(target.runs[0])
          await env.clipboard.writeText(detail.command)
          window.setStatusBarMessage(`gitexp: copied "${detail.command}"`, 4000)
        } catch (error) {
          void window.showErrorMessage(`gitexp: ${errorMessage(error)}`)
        }
      }
    }
  }
  return Object.entries(handlers).map(([id, handler]) => commands.registerCommand(id, handler))
}
