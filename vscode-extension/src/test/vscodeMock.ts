/**
 * A small stand-in for the `vscode` module so that mocha can load the tree, document and
 * command modules outside the editor (the real module only exists inside the extension
 * host). Only the parts the unit tests touch are modelled; the e2e test runs the real one.
 */
import Module from 'module'

export class ThemeColor {
  constructor(public readonly id: string) {}
}

export class ThemeIcon {
  constructor(
    public readonly id: string,
    public readonly color?: ThemeColor
  ) {}
}

export class MarkdownString {
  constructor(public value = '') {}
}

export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2
}

export class TreeItem {
  id?: string
  description?: string
  tooltip?: string | MarkdownString
  iconPath?: ThemeIcon
  contextValue?: string
  command?: { command: string; title: string; arguments?: unknown[] }
  resourceUri?: Uri
  accessibilityInformation?: { label: string }
  constructor(
    public label: string,
    public collapsibleState = TreeItemCollapsibleState.None
  ) {}
}

export class Uri {
  private constructor(
    public readonly scheme: string,
    public readonly path: string,
    public readonly query: string
  ) {}

  static parse(value: string): Uri {
    const match = /^([a-z][\w+.-]*):(?:\/\/[^/]*)?([^?#]*)(?:\?([^#]*))?/i.exec(value)
    if (!match) {
      throw new Error(`bad uri ${value}`)
    }
    return new Uri(match[1], decodeURIComponent(match[2]), decodeURIComponent(match[3] ?? ''))
  }

  static from(parts: { scheme: string; path?: string; query?: string }): Uri {
    return new Uri(parts.scheme, parts.path ?? '', parts.query ?? '')
  }

  static file(path: string): Uri {
    return new Uri('file', path, '')
  }

  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, [base.path, ...parts].join('/'), base.query)
  }

  get fsPath(): string {
    return this.path
  }

  toString(): string {
    const path = this.path.split('/').map(encodeURIComponent).join('/')
    return `${this.scheme}:${path}${this.query ? `?${this.query.replace(/%/g, '%25')}` : ''}`
  }
}

export class EventEmitter<T> {
  private listeners: ((value: T) => void)[] = []
  event = (listener: (value: T) => void) => {
    this.listeners.push(listener)
    return { dispose: () => (this.listeners = this.listeners.filter(l => l !== listener)) }
  }
  fire(value: T): void {
    this.listeners.forEach(listener => listener(value))
  }
  dispose(): void {
    this.listeners = []
  }
}

const unavailable = new Proxy(
  {},
  {
    get: (_target, name) => () => {
      throw new Error(`vscode mock: ${String(name)} is not available in unit tests`)
    }
  }
)

const disposable = () => ({ dispose: () => undefined })

/** A webview panel that keeps what it was given: its HTML and the messages posted to it. */
export class FakeWebviewPanel {
  public readonly posted: unknown[] = []
  public title: string
  private readonly received = new EventEmitter<unknown>()
  private readonly disposed = new EventEmitter<void>()
  public readonly webview = {
    html: '',
    cspSource: 'vscode-resource:',
    asWebviewUri: (uri: Uri) => uri,
    postMessage: (message: unknown) => {
      this.posted.push(message)
      return Promise.resolve(true)
    },
    onDidReceiveMessage: this.received.event
  }
  public readonly onDidDispose = this.disposed.event
  constructor(title: string) {
    this.title = title
  }
  /** As the page's script would say something to the extension. */
  public say(message: unknown): void {
    this.received.fire(message)
  }
  public reveal(): void {}
  public dispose(): void {
    this.disposed.fire()
  }
}

/** The panels `window.createWebviewPanel` made, newest last. */
export const webviewPanels: FakeWebviewPanel[] = []

/** Tree views and settings: enough for RunsTree to run against a fake server. */
const window = new Proxy(
  {
    createWebviewPanel: (_type: string, title: string) => {
      const panel = new FakeWebviewPanel(title)
      webviewPanels.push(panel)
      return panel
    },
    createTreeView: () => ({
      description: undefined,
      message: undefined,
      selection: [],
      onDidChangeSelection: disposable,
      dispose: () => undefined
    })
  },
  { get: (target, name) => (target as Record<string, unknown>)[name as string] ?? (unavailable as Record<string, unknown>)[name as string] }
)

export const settings: Record<string, unknown> = {}

/** The extensions `vscode.extensions.getExtension` finds, by id (tests add and remove them). */
export const installedExtensions: Record<string, { isActive: boolean; exports: unknown; activate: () => Promise<unknown> }> = {}

const workspace = new Proxy(
  {
    getConfiguration: () => ({ get: (key: string, fallback: unknown) => settings[key] ?? fallback }),
    onDidChangeConfiguration: disposable
  },
  { get: (target, name) => (target as Record<string, unknown>)[name as string] ?? (unavailable as Record<string, unknown>)[name as string] }
)

const mock = {
  ThemeColor,
  ThemeIcon,
  MarkdownString,
  TreeItem,
  TreeItemCollapsibleState,
  Uri,
  EventEmitter,
  ViewColumn: { Active: -1 },
  window,
  workspace,
  commands: { executeCommand: () => Promise.resolve(undefined) },
  extensions: { getExtension: (id: string) => installedExtensions[id] },
  env: unavailable
}

const resolve = (Module as unknown as { _resolveFilename: (...args: unknown[]) => string })
  ._resolveFilename
;(Module as unknown as { _resolveFilename: (...args: unknown[]) => string })._resolveFilename =
  function (request: unknown, ...rest: unknown[]) {
    return request === 'vscode' ? 'vscode' : resolve.call(this, request, ...rest)
  }
require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: mock } as NodeJS.Module
