import { stat } from 'fs/promises'
import { dirname, isAbsolute, join, relative } from 'path'

export type Exists = (path: string) => Promise<boolean>

const pathExists: Exists = async path => {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/**
 * The git work tree that contains `folder` (the folder itself or its nearest ancestor
 * holding `.git`), or undefined. A workspace folder nested inside a repository still
 * belongs to that repository's runs.
 */
export const findRepoRoot = async (
  folder: string,
  exists: Exists = pathExists
): Promise<string | undefined> => {
  let current = folder
  for (;;) {
    if (await exists(join(current, '.git'))) {
      return current
    }
    const parent = dirname(current)
    if (parent === current) {
      return undefined
    }
    current = parent
  }
}

/** The distinct repository roots of the workspace folders, in folder order. */
export const collectRepoRoots = async (
  folders: readonly string[],
  exists: Exists = pathExists
): Promise<string[]> => {
  const roots: string[] = []
  for (const folder of folders) {
    const root = await findRepoRoot(folder, exists)
    if (root !== undefined && !roots.includes(root)) {
      roots.push(root)
    }
  }
  return roots
}

/** The root among `roots` that holds `path` (the deepest one wins for nested repositories). */
export const rootForPath = (roots: readonly string[], path: string): string | undefined =>
  roots
    .filter(root => {
      const rel = relative(root, path)
      return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
    })
    .sort((a, b) => b.length - a.length)[0]
