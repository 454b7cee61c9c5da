/**
 * The experiments table webview (bundled for the browser with AG Grid Community; no CDN).
 * One row per run, a column per param, metric and tag; AG Grid sorts (shift-click adds a
 * key), filters per column, moves, pins and resizes columns and virtualises rows, so only
 * the rows on screen are in the DOM. The extension streams rows in pages and live updates;
 * this script only renders and reports what the user asks for.
 */
import {
  AllCommunityModule,
  type ColDef,
  type ColGroupDef,
  type ColumnState,
  type GridApi,
  ModuleRegistry,
  createGrid,
  themeQuartz
} from 'ag-grid-community'
import type { Scalar, TableColumn, TableRow } from '../languageClient/protocol'
import { cellValue, columnId, compareValues, numeric, parseTagEdit } from '../experiments/values'
import type { TableToView, ViewToTable } from '../experiments/messages'

ModuleRegistry.registerModules([AllCommunityModule])

const scriptStart = performance.now()
let lastInput: number | undefined
for (const type of ['mousedown', 'keydown']) {
  window.addEventListener(type, () => (lastInput = performance.now()), { capture: true })
}

declare const acquireVsCodeApi: () => { postMessage(message: ViewToTable): void }
const vscode = acquireVsCodeApi()
const post = (message: ViewToTable): void => vscode.postMessage(message)

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T

const theme = themeQuartz.withParams({
  backgroundColor: 'var(--vscode-editor-background)',
  foregroundColor: 'var(--vscode-foreground)',
  headerBackgroundColor: 'var(--vscode-editorWidget-background)',
  borderColor: 'var(--vscode-panel-border, rgba(128,128,128,0.35))',
  accentColor: 'var(--vscode-focusBorder)',
  chromeBackgroundColor: 'var(--vscode-editorWidget-background)',
  fontFamily: 'var(--vscode-font-family)',
  fontSize: 13,
  rowHeight: 26,
  headerHeight: 30,
  spacing: 4,
  wrapperBorderRadius: 0
})

const STATUS_ICON: Record<string, string> = {
  completed: '✓',
  failed: '✗',
  running: '●',
  queued: '◌',
  cancelled: '■',
  lost: '?',
  pruned: '✂'
}

const formatNumber = (value: Scalar | undefined): string => {
  if (value === undefined) {
    return ''
  }
  if (typeof value !== 'number') {
    return value === null ? 'null' : String(value)
  }
  if (Number.isInteger(value)) {
    return String(value)
  }
  const abs = Math.abs(value)
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(3) : String(Number(value.toPrecision(5)))
}

const formatDuration = (seconds: Scalar | undefined): string => {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
    return ''
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)}s`
  }
  const minutes = Math.floor(seconds / 60)
  return minutes < 60 ? `${minutes}m ${Math.round(seconds % 60)}s` : `${Math.floor(minutes / 60)}h ${minutes % 60}m`
}

const isNumeric = (column: TableColumn): boolean => column.type === 'BIGINT' || column.type === 'DOUBLE'

/** Column definition shared by every data column: our value getter, order and filter. */
const dataColumn = (id: string, header: string, numericColumn: boolean, extra: ColDef<TableRow> = {}): ColDef<TableRow> => ({
  colId: id,
  headerName: header,
  headerTooltip: id,
  valueGetter: params => (params.data ? cellValue(params.data, id) : undefined),
  comparator: (a, b, _nodeA, _nodeB, descending) => compareValues(a, b, descending),
  filter: numericColumn ? 'agNumberColumnFilter' : 'agTextColumnFilter',
  filterValueGetter: numericColumn
    ? params => numeric(params.data ? cellValue(params.data, id) : undefined) ?? null
    : params => {
        const value = params.data ? cellValue(params.data, id) : undefined
        return value === undefined || value === null ? null : String(value)
      },
  valueFormatter: params => formatNumber(params.value as Scalar | undefined),
  cellClass: numericColumn ? 'number' : undefined,
  ...extra
})

let groupBySweep = false

const buildColumns = (columns: TableColumn[]): (ColDef<TableRow> | ColGroupDef<TableRow>)[] => {
  const group = (kind: TableColumn['kind'], title: string): ColGroupDef<TableRow>[] => {
    const children = columns
      .filter(column => column.kind === kind)
      .map(column => dataColumn(columnId(column), column.key, isNumeric(column)))
    return children.length ? [{ headerName: title, groupId: kind, children, marryChildren: false }] : []
  }
  return [
    {
      colId: 'star',
      headerName: '★',
      headerTooltip: 'starred (the tag "star"); click to star or unstar',
      width: 44,
      pinned: 'left',
      valueGetter: params => (params.data?.tags.star ? 1 : 0),
      cellRenderer: (params: { value: number }) => (params.value ? '★' : '☆'),
      cellClass: 'star',
      filter: 'agNumberColumnFilter',
      onCellClicked: params => {
        if (params.data) {
          post({ type: 'star', run: params.data.run, starred: !params.data.tags.star })
        }
      }
    },
    dataColumn('run', 'run', false, { pinned: 'left', width: 220 }),
    dataColumn('sweep', 'sweep', false, { width: 140, spanRows: () => groupBySweep }),
    dataColumn('status', 'status', false, {
      width: 120,
      filterParams: { filterOptions: ['equals', 'notEqual', 'contains'], maxNumConditions: 4 },
      cellRenderer: (params: { value: string }) =>
        params.value ? `<span class="status ${params.value}">${STATUS_ICON[params.value] ?? ''} ${params.value}</span>` : ''
    }),
    dataColumn('created', 'created', false, {
      width: 170,
      valueFormatter: params => (typeof params.value === 'string' ? params.value.replace('T', ' ').slice(0, 19) : '')
    }),
    dataColumn('duration', 'duration', true, {
      width: 100,
      valueFormatter: params => formatDuration(params.value as Scalar | undefined)
    }),
    dataColumn('exit_code', 'exit', true, { width: 80 }),
    {
      ...dataColumn('tags', 'tags', false, { width: 140 }),
      valueGetter: params =>
        params.data
          ? Object.entries(params.data.tags)
              .map(([key, value]) => (value === true ? key : `${key}=${value}`))
              .join(' ')
          : ''
    },
    ...group('param', 'params'),
    ...group('metric', 'metrics')
  ]
}

const counts = { total: 0, loaded: 0 }
let known = new Set<string>()
let columnsKey = ''
let brushed: Set<string> | undefined
let restoring = false
let reselect = new Set<string>()

const api: GridApi<TableRow> = createGrid($('grid'), {
  theme,
  columnDefs: buildColumns([]),
  rowData: [],
  getRowId: params => params.data.run,
  defaultColDef: { sortable: true, resizable: true, floatingFilter: true, minWidth: 60, width: 110 },
  rowSelection: { mode: 'multiRow', checkboxes: true, headerCheckbox: true, enableClickSelection: true },
  selectionColumnDef: { pinned: 'left', width: 40 },
  enableCellSpan: true,
  animateRows: false,
  suppressColumnMoveAnimation: true,
  tooltipShowDelay: 400,
  isExternalFilterPresent: () => brushed !== undefined,
  doesExternalFilterPass: node => (node.data ? (brushed?.has(node.data.run) ?? true) : true),
  onSelectionChanged: () => {
    updateCounts()
    post({ type: 'selection', runs: selectedRuns() })
  },
  onModelUpdated: () => {
    updateCounts()
    // For the benchmark: how long the grid took from the user's last click or keystroke
    // (a sort, a filter) to a new row model, measured here, without any round trip.
    if (lastInput !== undefined) {
      document.body.dataset.answerMs = String(Math.round(performance.now() - lastInput))
      lastInput = undefined
    }
  },
  onFirstDataRendered: () => {
    document.body.dataset.firstRowsMs = String(Math.round(performance.now() - scriptStart))
  },
  onSortChanged: () => saveState(),
  onColumnMoved: event => event.finished && saveState(),
  onColumnPinned: () => saveState(),
  onColumnVisible: () => saveState(),
  onColumnResized: event => event.finished && saveState(),
  onRowDoubleClicked: event => event.data && post({ type: 'action', action: 'show', runs: [event.data.run] })
})

function selectedRuns(): string[] {
  return api.getSelectedRows().map(row => row.run)
}

function updateCounts(): void {
  const shown = api.getDisplayedRowCount()
  const selected = api.getSelectedRows().length
  const loading = counts.loaded < counts.total ? ` · loading ${counts.loaded}/${counts.total}` : ''
  $('count').textContent = `${counts.total} runs · ${shown} shown · ${selected} selected${loading}`
  for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-min]')) {
    button.disabled = selected < Number(button.dataset.min)
  }
}

function saveState(): void {
  if (!restoring) {
    post({ type: 'state', columns: api.getColumnState(), groupBySweep })
  }
}

const say = (text: string, error = false): void => {
  const line = $('message')
  line.textContent = text
  line.className = error ? 'error' : ''
}

const setColumns = (columns: TableColumn[]): void => {
  const key = JSON.stringify(columns)
  if (key === columnsKey) {
    return
  }
  columnsKey = key
  const state = api.getColumnState()
  restoring = true
  api.setGridOption('columnDefs', buildColumns(columns))
  api.applyColumnState({ state, applyOrder: true })
  restoring = false
  fillColumnChooser()
}

const upsert = (rows: TableRow[]): void => {
  const add: TableRow[] = []
  const update: TableRow[] = []
  for (const row of rows) {
    ;(known.has(row.run) ? update : add).push(row)
    known.add(row.run)
  }
  api.applyTransaction({ add, update })
}

function fillColumnChooser(): void {
  const list = $('columns-list')
  list.replaceChildren()
  for (const state of api.getColumnState()) {
    const column = api.getColumn(state.colId)
    if (!column || state.colId === 'ag-Grid-SelectionColumn') {
      continue
    }
    const label = document.createElement('label')
    const box = document.createElement('input')
    box.type = 'checkbox'
    box.checked = !state.hide
    box.addEventListener('change', () => api.setColumnsVisible([state.colId], box.checked))
    const pin = document.createElement('select')
    for (const [value, text] of [['', '—'], ['left', 'pin left'], ['right', 'pin right']]) {
      pin.add(new Option(text, value, false, (state.pinned ?? '') === value))
    }
    pin.addEventListener('change', () => api.setColumnsPinned([state.colId], (pin.value || null) as 'left' | 'right' | null))
    label.append(box, ` ${column.getColDef().headerTooltip ?? state.colId} `, pin)
    list.append(label)
  }
}

const setGroupBySweep = (on: boolean): void => {
  groupBySweep = on
  $<HTMLInputElement>('group').checked = on
  const state = api.getColumnState()
  const others = state.filter(column => column.sort && column.colId !== 'sweep')
  restoring = true
  api.applyColumnState({
    state: on
      ? [{ colId: 'sweep', sort: 'asc', sortIndex: 0, pinned: 'left', hide: false },
         ...others.map(column => ({ colId: column.colId, sortIndex: (column.sortIndex ?? 0) + 1 }))]
      : [{ colId: 'sweep', pinned: null }],
    defaultState: undefined
  })
  restoring = false
  api.refreshCells({ force: true })
  api.redrawRows()
  saveState()
}

// --- toolbar ------------------------------------------------------------------------------
for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-action]')) {
  button.addEventListener('click', () => {
    const action = button.dataset.action as string
    if (action === 'csv') {
      const onlySelected = api.getSelectedRows().length > 0
      const csv = api.getDataAsCsv({ onlySelected, skipColumnGroupHeaders: true, allColumns: false,
        columnKeys: api.getColumnState().filter(c => !c.hide && c.colId !== 'star' && c.colId !== 'ag-Grid-SelectionColumn').map(c => c.colId) })
      post({ type: 'csv', text: csv ?? '' })
      return
    }
    post({ type: 'action', action, runs: selectedRuns() })
  })
}

$('where').addEventListener('keydown', event => {
  if (event.key === 'Enter') {
    post({ type: 'where', where: $<HTMLInputElement>('where').value.trim() })
  }
})
$('search').addEventListener('input', () => api.setGridOption('quickFilterText', $<HTMLInputElement>('search').value))
$('group').addEventListener('change', () => setGroupBySweep($<HTMLInputElement>('group').checked))
$('columns-button').addEventListener('click', () => {
  const panel = $('columns-list')
  panel.hidden = !panel.hidden
  if (!panel.hidden) {
    fillColumnChooser()
  }
})
$('brushed-clear').addEventListener('click', () => {
  brushed = undefined
  $('brushed').hidden = true
  api.onFilterChanged()
})
const tag = (): void => {
  const runs = selectedRuns()
  const edit = parseTagEdit($<HTMLInputElement>('tag').value)
  if ('error' in edit) {
    say(edit.error, true)
    return
  }
  if (runs.length === 0) {
    say('select the runs to tag first', true)
    return
  }
  post({ type: 'tag', runs, set: edit.set, remove: edit.remove })
}
$('tag').addEventListener('keydown', event => event.key === 'Enter' && tag())
$('tag-button').addEventListener('click', tag)

window.addEventListener('message', (event: MessageEvent<TableToView>) => {
  const message = event.data
  switch (message.type) {
    case 'reset':
      reselect = new Set(selectedRuns())
      known = new Set()
      counts.total = message.total
      counts.loaded = 0
      api.setGridOption('rowData', [])
      setColumns(message.columns)
      if (message.state) {
        restoring = true
        api.applyColumnState({ state: message.state.columns as ColumnState[], applyOrder: true })
        restoring = false
        if (message.state.groupBySweep) {
          setGroupBySweep(true)
        }
      }
      $<HTMLInputElement>('where').value = message.where
      say(message.where ? `where ${message.where}` : '')
      break
    case 'rows':
      setColumns(message.columns)
      upsert(message.rows)
      if (reselect.size) {
        // A reload (new condition, refresh) keeps the runs the user had selected.
        const again = message.rows.filter(row => reselect.has(row.run))
        again.forEach(row => api.getRowNode(row.run)?.setSelected(true))
      }
      counts.loaded = known.size
      counts.total = Math.max(message.total, known.size)
      updateCounts()
      break
    case 'remove': {
      const gone = message.runs.filter(run => known.delete(run))
      api.applyTransaction({ remove: gone.map(run => ({ run }) as TableRow) })
      counts.total -= gone.length
      counts.loaded = known.size
      updateCounts()
      break
    }
    case 'brushed':
      brushed = message.runs ? new Set(message.runs) : undefined
      $('brushed').hidden = brushed === undefined
      $('brushed-count').textContent = brushed ? `${brushed.size} runs brushed in parallel coordinates` : ''
      api.onFilterChanged()
      break
    case 'message':
      say(message.text, message.error)
      break
  }
})

post({ type: 'ready' })
