import { dirname } from 'path'
import { type Disposable, type Event, type Uri, extensions } from 'vscode'

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
 * Call `listener` whenever the user selects another interpreter in the Python extension;
 * resolves to the subscription, or undefined without the extension (or that event).
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
 * virtualenv's `bin/`), or undefined without the extension. gitexp installed in that
 * environment lives there, and sweeps launched from the editor must run with that
 * `python` first on PATH, or every run fails with ModuleNotFoundError.
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
    return executable ? dirname(executable) : undefined
  } catch {
    return undefined
  }
}
