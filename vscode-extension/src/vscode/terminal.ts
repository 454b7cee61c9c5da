import { delimiter } from 'path'
import { type Terminal, window } from 'vscode'
import { Disposable } from '../util/disposable'

/**
 * One terminal per repository for the commands gitexp launches (run sweep, dry run), so
 * the user sees the scheduler's output and can stop it with Ctrl+C as in a shell.
 */
export class Terminals extends Disposable {
  private readonly terminals = new Map<string, Terminal>()

  constructor() {
    super()
    this.track(
      window.onDidCloseTerminal(closed => {
        for (const [root, terminal] of this.terminals) {
          if (terminal === closed) {
            this.terminals.delete(root)
          }
        }
      })
    )
  }

  /**
   * Run `command` in the repository's terminal (`key` names another one, e.g. a run's logs).
   * `binDir` (the selected interpreter's folder) goes first on the terminal's PATH, so the
   * `python` of a sweep's command is the project's, not whatever the shell finds first.
   */
  public run(root: string, name: string, command: string, binDir?: string, key = root): void {
    let terminal = this.terminals.get(key)
    if (!terminal || terminal.exitStatus !== undefined) {
      terminal = window.createTerminal({ name: `gitexp: ${name}`, cwd: root, env: terminalEnv(binDir) })
      this.terminals.set(key, terminal)
    }
    terminal.show()
    terminal.sendText(command)
  }
}

/**
 * The server answers `gitexp run <file>`; when the user points gitexp.executable at a
 * specific binary (a venv), run that one instead of whatever `gitexp` the shell finds.
 */
export const withExecutable = (command: string, executable: string): string => {
  if (!executable || executable === 'gitexp' || !command.startsWith('gitexp ')) {
    return command
  }
  const quoted = /[\s"'$`\\]/.test(executable) ? `'${executable.replace(/'/g, `'\\''`)}'` : executable
  return quoted + command.slice('gitexp'.length)
}

/** The environment a launch terminal adds: `binDir` first on PATH (nothing when unknown). */
export const terminalEnv = (binDir: string | undefined, path = process.env.PATH ?? ''): Record<string, string> | undefined =>
  binDir ? { PATH: path ? `${binDir}${delimiter}${path}` : binDir } : undefined

/**
 * The command line with `binDir` first on its PATH, for POSIX shells: a shell's rc files
 * (pyenv, conda) may put their own `python` first again after the terminal starts, and the
 * runs of a sweep inherit the PATH of the `gitexp run` that starts them.
 */
export const withPath = (command: string, binDir: string | undefined, platform = process.platform): string =>
  binDir && platform !== 'win32' ? `PATH=${shellWord(binDir)}:"$PATH" ${command}` : command

/** Quote one shell word (POSIX sh) when it needs it. */
export const shellWord = (word: string): string =>
  /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
