import { Uri } from 'vscode'

/**
 * Addresses of the read-only documents the extension serves.
 *   gitexp:/<sweep>/<name>/<path>?repo=<root>          a file as it was in a run's snapshot
 *   gitexp-report:/<title>.md?kind=run&run=..&repo=..  `show run` as Markdown
 *   gitexp-report:/<title>.md?kind=diff&a=..&b=..&repo=..  `compare` as Markdown
 * Sweep and run names are [A-Za-z0-9._-], so the first two path segments are the run id
 * and the rest is the file path; the tab shows the file's own name.
 */
export const FILE_SCHEME = 'gitexp'
export const REPORT_SCHEME = 'gitexp-report'

export interface FileAddress {
  repo: string
  run: string
  path: string
}

export type ReportAddress =
  | { kind: 'run'; repo: string; run: string }
  | { kind: 'diff'; repo: string; a: string; b: string }

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

const reportTitle = (address: ReportAddress): string =>
  address.kind === 'run'
    ? `${address.run.replace('/', ' ')}.md`
    : `${address.a.replace('/', ' ')} ↔ ${address.b.replace('/', ' ')}.md`

export const reportUri = (address: ReportAddress): Uri => {
  const query = new URLSearchParams(
    address.kind === 'run'
      ? { kind: 'run', repo: address.repo, run: address.run }
      : { kind: 'diff', repo: address.repo, a: address.a, b: address.b }
  )
  return Uri.from({ scheme: REPORT_SCHEME, path: `/${reportTitle(address)}`, query: query.toString() })
}

export const parseReportUri = (uri: { query: string }): ReportAddress | undefined => {
  const query = new URLSearchParams(uri.query)
  const repo = query.get('repo')
  const kind = query.get('kind')
  if (!repo) {
    return undefined
  }
  if (kind === 'run' && query.get('run')) {
    return { kind, repo, run: query.get('run') as string }
  }
  if (kind === 'diff' && query.get('a') && query.get('b')) {
    return { kind, repo, a: query.get('a') as string, b: query.get('b') as string }
  }
  return undefined
}
