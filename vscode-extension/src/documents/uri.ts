import { Uri } from 'vscode'

/**
 * Addresses of the read-only documents the extension serves.
 *   gitexp:/<sweep>/<name>/<path>?repo=<root>          a file as it was in a run's snapshot
 * Sweep and run names are [A-Za-z0-9._-], so the first two path segments are the run id
 * and the rest is the file path; the tab shows the file's own name.
 */
export const FILE_SCHEME = 'gitexp'

export interface FileAddress {
  repo: string
  run: string
  path: string
}

// Built with Uri.from (never parsed from a string) so that `uri.query` is exactly the
// URLSearchParams text below: VS Code escapes it again in toString() and undoes that on parse.
export const fileUri = (repo: string, run: string, path: string): Uri =>
  Uri.from({ scheme: FILE_SCHEME, path: `/${run}/${path}`, query: new URLSearchParams({ repo }).toString() })

export const parseFileUri = (uri: { path: string; query: string }): FileAddress | undefined => {
  const segments = uri.path.replace(/^\//, '').split('/')
  const repo = new URLSearchParams(uri.query).get('repo')
  if (segments.length < 3 || !repo) {
    return undefined
  }
  return { repo, run: `${segments[0]}/${segments[1]}`, path: segments.slice(2).join('/') }
}
