import { constants } from 'fs'
import { access, readFile } from 'fs/promises'
import { delimiter, isAbsolute, join, resolve } from 'path'

export type IsExecutable = (path: string) => Promise<boolean>

const isExecutableFile: IsExecutable = async path => {
  try {
    await access(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Where the `gitexp.executable` setting points, or undefined when it names nothing runnable.
 * Checked up front because a language client that fails to spawn only says "ENOENT";
 * the user needs to hear which setting to fix. A bare name is looked up on PATH (with
 * PATHEXT on Windows); a relative path is taken from the repository root.
 */
export const resolveExecutable = async (
  setting: string,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
  isExecutable: IsExecutable = isExecutableFile
): Promise<string | undefined> => {
  const name = setting.trim() || 'gitexp'
  const extensions =
    process.platform === 'win32' ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';')] : ['']
  if (isAbsolute(name) || name.includes('/') || name.includes('\\')) {
    const path = resolve(cwd, name)
    for (const ext of extensions) {
      if (await isExecutable(path + ext)) {
        return path + ext
      }
    }
    return undefined
  }
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const ext of extensions) {
      const candidate = join(dir, name + ext)
      if (await isExecutable(candidate)) {
        return candidate
      }
    }
  }
  return undefined
}

export const missingExecutableMessage = (setting: string): string =>
  `gitexp: cannot find the executable "${setting || 'gitexp'}" (setting gitexp.executable). ` +
  'Install it with "pip install gitexp" in the environment VS Code sees, or set ' +
  'gitexp.executable to its full path (e.g. .venv/bin/gitexp).'

/**
 * The PATH of the editor's own server process. code-server (and VS Code's remote server)
 * start the extension host with the PATH of a fresh login shell, so a virtualenv that was
 * active when the editor started is missing from `process.env.PATH`; the server process,
 * named by CODE_SERVER_PARENT_PID, still has it (Linux: read from /proc).
 */
export const launcherPath = async (env: NodeJS.ProcessEnv = process.env): Promise<string> => {
  const pid = env.CODE_SERVER_PARENT_PID
  if (!pid || !/^\d+$/.test(pid) || process.platform !== 'linux') {
    return ''
  }
  try {
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8')
    return environ.split('\0').find(entry => entry.startsWith('PATH='))?.slice('PATH='.length) ?? ''
  } catch {
    return ''
  }
}

/**
 * The `gitexp` to run for a repository: `gitexp.executable` when the user set it (an
 * override, as before); otherwise the one next to the Python extension's selected
 * interpreter, then in the active virtualenv or conda environment, then a `.venv`/`venv` in
 * the repository, then on VS Code's PATH (the extension host's, then its server's).
 */
export const findGitexp = async (
  setting: string,
  root: string,
  pythonBin: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  isExecutable: IsExecutable = isExecutableFile,
  serverPath?: string
): Promise<string | undefined> => {
  const name = setting.trim()
  if (name && name !== 'gitexp') {
    return resolveExecutable(name, root, env, isExecutable)
  }
  const bin = process.platform === 'win32' ? 'Scripts' : 'bin'
  const folders = [
    pythonBin,
    env.VIRTUAL_ENV && join(env.VIRTUAL_ENV, bin),
    env.CONDA_PREFIX && join(env.CONDA_PREFIX, process.platform === 'win32' ? 'Scripts' : 'bin'),
    join(root, '.venv', bin),
    join(root, 'venv', bin)
  ].filter((folder): folder is string => Boolean(folder))
  for (const folder of folders) {
    const found = await resolveExecutable(join(folder, 'gitexp'), root, env, isExecutable)
    if (found) {
      return found
    }
  }
  const path = [env.PATH, serverPath ?? (await launcherPath(env))].filter(Boolean).join(delimiter)
  return resolveExecutable('gitexp', root, { ...env, PATH: path }, isExecutable)
}
