import { commands, window } from 'vscode'
import type { GitexpClient } from '../languageClient/client'
import type { CommandContext } from './context'

/** How long after a launch its first failure is still reported. */
const WATCH_MS = 30 * 60_000

/**
 * After "Run sweep", watch the sweep's runs; the first one that fails is reported with
 * why (the first error line of its output, from `gitexp/run`) and a button to its logs.
 * Runs that failed before the launch are not reported: only a status change is.
 */
export const watchLaunch = (ctx: CommandContext, client: GitexpClient, sweep: string): void => {
  const prefix = `${sweep}/`
  const seen = new Map<string, string>()
  let told = false
  const listener = client.onDidChangeRuns(async ({ runs }) => {
    const mine = runs.filter(run => run.startsWith(prefix))
    if (told || mine.length === 0) {
      return
    }
    try {
      const { rows } = await client.table({ runs: mine })
      const failed = rows.find(row => row.status === 'failed' && seen.get(row.run) !== 'failed')
      rows.forEach(row => seen.set(row.run, row.status))
      if (!failed || told) {
        return
      }
      told = true
      listener.dispose()
      const detail = await client.run(failed.run)
      const why = detail.error ? `: ${detail.error}` : detail.exit_code != null ? ` (exit code ${detail.exit_code})` : ''
      const answer = await window.showErrorMessage(`gitexp: ${failed.run} failed${why}`, 'Show Logs')
      if (answer === 'Show Logs') {
        await commands.executeCommand('gitexp.showLogs', { repo: client.root, run: failed.run })
      }
    } catch (error) {
      ctx.output.warn(`gitexp: watching ${sweep}: ${String(error)}`)
    }
  })
  setTimeout(() => listener.dispose(), WATCH_MS).unref?.()
}
