import { dirname, isAbsolute } from 'path'
import { type Disposable, type Event, type Uri, extensions } from 'vscode'
import { within } from '../util/within'

/** The part of the Python extension's public API (`ms-python.python` exports) we use. */
interface PythonApi {
  environments?: {
    getActiveEnvironmentPath(resource?: Uri): { path: string }
    resolveEnvironment(env: { path: string }): Promise<{ executable?: { uri?: Uri } } | undefined>
    onDidChangeActiveEnvironmentPath?: Event<{ path: string }>
  }
}

const pythonApi = async (): Promise<PythonApi | undefined> => {
  const extension = extensions.getExtension<PythonApi>('ms-python.python')
  if (!extension) {
    return undefined
  }
  return extension.isActive ? extension.exports : await extension.activate()
}

/** Whether asking the Python extension costs nothing (it is active, or not installed). */
export const pythonIsActive = (): boolean => extensions.getExtension('ms-python.python')?.isActive ?? true

/**
 * Call `listener` whenever the Python extension says its selected interpreter changed;
 * resolves to the subscription, or undefined without the extension (or that event). It also
 * says so when nothing changed (once after it starts, with the interpreter it answered all
 * along): compare before acting.
 */
export const onDidChangePython = async (listener: () => void): Promise<Disposable | undefined> => {
  try {
    return (await pythonApi())?.environments?.onDidChangeActiveEnvironmentPath?.(() => listener())
  } catch {
    return undefined
  }
}

/**
 * The folder of the interpreter the Python extension has selected for `resource` (a
 * virtualenv's `bin/`), or undefined without the extension (or a selection). gitexp installed
 * in that environment lives there, and sweeps launched from the editor must run with that
 * `python` first on PATH, or every run fails with ModuleNotFoundError.
 * With nothing selected yet the extension answers the bare name "python", which it resolves
 * by running it, to nothing where there is no `python` on PATH (Debian has only python3):
 * that is no folder, not ".".
 */
export const selectedPythonBin = async (resource?: Uri): Promise<string | undefined> => {
  try {
    const environments = (await pythonApi())?.environments
    if (!environments) {
      return undefined
    }
    const active = environments.getActiveEnvironmentPath(resource)
    const resolved = await environments.resolveEnvironment(active)
    const executable = resolved?.executable?.uri?.fsPath ?? active.path
    return executable && isAbsolute(executable) ? dirname(executable) : undefined
  } catch {
    return undefined
  }
}

/** How long a server start waits for the Python extension's interpreter before starting without it. */
export const PYTHON_ANSWER_MS = 10_000

export interface BoundedAnswer {
  answered: boolean  // within the time: `bin` is the answer (undefined: no folder)
  bin?: string
  late: Promise<string | undefined>  // the answer itself, whenever it comes
}

/**
 * `selectedPythonBin`, waited for at most `ms`: a Python extension that does not answer (a
 * huge workspace still being scanned, a broken install) must not keep gitexp's servers from
 * starting. They start without its interpreter; `late` says when the answer came after all.
 */
export const selectedPythonBinWithin = async (resource: Uri | undefined, ms: number): Promise<BoundedAnswer> => {
  const late = selectedPythonBin(resource)
  const first = await within(late, ms)
  return first ? { answered: true, bin: first.value, late } : { answered: false, late }
}
