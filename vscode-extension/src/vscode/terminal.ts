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

  public run(root: string, name: string, command: string): void {
    let terminal = this.terminals.get(root)
    if (!terminal || terminal.exitStatus !== undefined) {
      terminal = window.createTerminal({ name: `gitexp: ${name}`, cwd: root })
      this.terminals.set(root, terminal)
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
