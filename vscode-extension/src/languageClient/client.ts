import { basename } from 'path'
import {
  EventEmitter,
  type Event,
  type LogOutputChannel,
  Uri,
  type WorkspaceFolder
} from 'vscode'
import {
  type DynamicFeature,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
  type StaticFeature
} from 'vscode-languageclient/node'
import { Disposable } from '../util/disposable'
import { errorMessage } from '../util/errors'
import { findGitexp, missingExecutableMessage } from './executable'
import {
  type BatchResult,
  type DiffResult,
  type ExecuteResult,
  type FileResult,
  type ImagesResult,
  Method,
  type PackedSeriesResult,
  type QueryResult,
  type RunDetail,
  type RunsChanged,
  type RunsParams,
  type RunsResult,
  type SeriesResult,
  type TableParams,
  type TableResult,
  type TagParams
} from './protocol'

export type ClientState =
  | { kind: 'starting' }
  | { kind: 'running' }
  | { kind: 'failed'; message: string; missingExecutable?: boolean }
  | { kind: 'stopped' }

/**
 * A language client that leaves `workspace/executeCommand` to us. With one server per
 * repository, the stock feature would register `gitexp.runSweep` once per server and
 * collide; our own command routes the call to the server that owns the document.
 */
class GitexpLanguageClient extends LanguageClient {
  public override registerFeature(feature: StaticFeature | DynamicFeature<unknown>): void {
    const method = (feature as Partial<DynamicFeature<unknown>>).registrationType?.method
    if (method === ExecuteCommandRequest.method) {
      return
    }
    super.registerFeature(feature)
  }
}

export interface ClientOptions {
  root: string
  executable: string
  sweepGlob: string
  output: LogOutputChannel
  /**
   * the folder of the Python extension's selected interpreter, when there is one (a promise:
   * asking the Python extension may wait for it to activate, and the client, with the Runs
   * view's quick listing from the refs, should not)
   */
  pythonBin?: string | Promise<string | undefined>
}

/**
 * One `gitexp lsp` process serving one repository, with typed wrappers for each custom
 * request of PROTOCOL.md. Requests wait for the server to start and reject with its
 * failure, so callers handle one error path.
 */
export class GitexpClient extends Disposable {
  public readonly root: string
  public readonly onDidChangeRuns: Event<RunsChanged>
  public readonly onDidChangeState: Event<ClientState>

  private readonly runsChanged = this.track(new EventEmitter<RunsChanged>())
  private readonly stateChanged = this.track(new EventEmitter<ClientState>())
  private client: LanguageClient | undefined
  private readonly ready: Promise<LanguageClient>
  private currentState: ClientState = { kind: 'starting' }
  private resolved: string | undefined
  private python: string | undefined

  constructor(private readonly options: ClientOptions) {
    super()
    this.root = options.root
    this.onDidChangeRuns = this.runsChanged.event
    this.onDidChangeState = this.stateChanged.event
    this.ready = this.start()
    // Failures are reported through the state; requests see the rejection themselves.
    this.ready.catch(() => undefined)
  }

  public get state(): ClientState {
    return this.currentState
  }

  /** The gitexp executable the server runs from (absolute), once found. */
  public get executable(): string | undefined {
    return this.resolved
  }

  public get pythonBin(): string | undefined {
    return this.python
  }

  /** The interpreter folder this server starts (or started) with, once the Python extension answered. */
  public pythonBinUsed(): Promise<string | undefined> {
    return Promise.resolve(this.options.pythonBin)
  }

  public get name(): string {
    return basename(this.root)
  }

  public runs(params: RunsParams): Promise<RunsResult> {
    return this.request(Method.runs, params)
  }

  public run(run: string): Promise<RunDetail> {
    return this.request(Method.run, { run })
  }

  public diff(a: string, b: string): Promise<DiffResult> {
    return this.request(Method.diff, { a, b })
  }

  public file(run: string, path: string): Promise<FileResult> {
    return this.request(Method.file, { run, path })
  }

  public query(sql: string, limit?: number): Promise<QueryResult> {
    return this.request(Method.query, limit === undefined ? { sql } : { sql, limit })
  }

  public series(runs: string[], keys: string[] = [], time = false): Promise<SeriesResult> {
    return this.request(Method.series, time ? { runs, keys, time } : { runs, keys })
  }

  /** Curves as float64 columns, thinned past `most` points (an older server answers `SeriesResult`). */
  public packedSeries(runs: string[], time: boolean, most: number): Promise<PackedSeriesResult | SeriesResult> {
    return this.request(Method.series, { runs, keys: [], time, packed: true, most })
  }

  public images(runs: string[], maxSteps?: number): Promise<ImagesResult> {
    return this.request(Method.images, maxSteps === undefined ? { runs } : { runs, maxSteps })
  }

  public table(params: TableParams): Promise<TableResult> {
    return this.request(Method.table, params)
  }

  public tag(params: TagParams): Promise<BatchResult> {
    return this.request(Method.tag, params)
  }

  public kill(runs: string[]): Promise<BatchResult> {
    return this.request(Method.kill, { runs })
  }

  public delete(runs: string[]): Promise<BatchResult> {
    return this.request(Method.delete, { runs })
  }

  /** `workspace/executeCommand` for the server's sweep commands (run / dry run). */
  public async executeCommand(command: string, args: unknown[]): Promise<ExecuteResult> {
    const client = await this.ready
    return (await client.sendRequest(ExecuteCommandRequest.type, {
      command,
      arguments: args
    })) as ExecuteResult
  }

  public override dispose(): void {
    const client = this.client
    this.client = undefined
    this.setState({ kind: 'stopped' })
    super.dispose()
    if (client) {
      client.dispose(2000).catch(() => undefined)
    }
  }

  private async request<R>(method: string, params: object): Promise<R> {
    const client = await this.ready
    return client.sendRequest<R>(method, params)
  }

  private setState(state: ClientState): void {
    this.currentState = state
    if (!this.isDisposed) {
      this.stateChanged.fire(state)
    }
  }

  private async start(): Promise<LanguageClient> {
    const { root, executable, sweepGlob, output } = this.options
    this.python = await this.options.pythonBin
    const command = await findGitexp(executable, root, this.python)
    this.resolved = command
    if (command === undefined) {
      const message = missingExecutableMessage(executable)
      output.error(message)
      this.setState({ kind: 'failed', message, missingExecutable: true })
      throw new Error(message)
    }
    const serverOptions: ServerOptions = {
      command,
      args: ['lsp'],
      // No `transport`: TransportKind.stdio would append `--stdio`, which `gitexp lsp` does
      // not take (stdio is its default).
      options: { cwd: root }
    }
    const folder: WorkspaceFolder = { uri: Uri.file(root), name: basename(root), index: 0 }
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: 'file', pattern: `${root.replace(/\\/g, '/')}/${sweepGlob}` }
      ],
      workspaceFolder: folder,
      outputChannel: output,
      // The Runs view shows failures as items linking to the output; no pop-ups.
      revealOutputChannelOn: RevealOutputChannelOn.Never
    }
    const client = new GitexpLanguageClient(
      'gitexp',
      `gitexp (${basename(root)})`,
      serverOptions,
      clientOptions
    )
    client.onNotification(Method.runsChanged, (params: RunsChanged) =>
      this.runsChanged.fire({ runs: params?.runs ?? [] })
    )
    this.client = client
    this.track(
      client.onDidChangeState(({ newState }) => {
        if (newState === State.Stopped && this.currentState.kind === 'running') {
          this.setState({ kind: 'failed', message: `gitexp: the language server for ${root} stopped` })
        }
      })
    )
    try {
      await client.start()
    } catch (error) {
      const message = `gitexp: the language server for ${root} did not start: ${errorMessage(error)}`
      output.error(message)
      this.setState({ kind: 'failed', message })
      throw new Error(message)
    }
    if (this.isDisposed) {
      await client.dispose(2000)
      throw new Error('gitexp: the language client was closed')
    }
    output.info(`gitexp language server started for ${root} (${command} lsp)`)
    this.setState({ kind: 'running' })
    return client
  }
}
