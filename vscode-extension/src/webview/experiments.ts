/**
 * The experiments table webview (bundled for the browser with AG Grid Community; no CDN).
 * One row per run, a column per param, metric and tag; AG Grid sorts (shift-click adds a
 * key), filters per column, moves, pins and resizes columns and virtualises rows, so only
 * the rows on screen are in the DOM. The extension streams rows in pages and live updates;
 * this script only renders and reports what the user asks for.
 */
import {
  CellStyleModule,
  ClientSideRowModelApiModule,
  ClientSideRowModelModule,
  type ColDef,
  type ColGroupDef,
  ColumnApiModule,
  type ColumnState,
  CsvExportModule,
  ExternalFilterModule,
  type GridApi,
  ModuleRegistry,
  NumberFilterModule,
  QuickFilterModule,
  RenderApiModule,
  RowApiModule,
  RowSelectionModule,
  TextFilterModule,
  TooltipModule,
  ValidationModule,
  createGrid
} from 'ag-grid-community'
import type { Scalar, TableColumn, TableRow } from '../languageClient/protocol'
import { gridTheme } from './gridTheme'
import { columnId, compareValues, numeric, parseTagEdit } from '../experiments/values'
import { type GridRow, arrange, groupLabel, groupRow, gridRow, summarise } from '../experiments/groups'
import { FIRST_MESSAGES_ID, type TableToView, type ViewToTable } from '../experiments/messages'

ModuleRegistry.registerModules([
  ClientSideRowModelModule,
  ClientSideRowModelApiModule,
  RowApiModule,
  RenderApiModule,
  ColumnApiModule,
  RowSelectionModule,
  TextFilterModule,
  NumberFilterModule,
  QuickFilterModule,
  ExternalFilterModule,
  TooltipModule,
  CellStyleModule,
  CsvExportModule,
  // its messages name a missing module or a wrong option; development builds only (esbuild.mjs)
  ...(process.env.NODE_ENV === 'production' ? [] : [ValidationModule])
])

const scriptStart = performance.now()
let lastInput: number | undefined
// (click, not mousedown: AG Grid sorts on click; input: a filter box's last keystroke)
for (const type of ['click', 'keydown', 'input']) {
  window.addEventListener(type, () => (lastInput = performance.now()), { capture: true })
}

declare const acquireVsCodeApi: () => { postMessage(message: ViewToTable): void }
const vscode = acquireVsCodeApi()
const post = (message: ViewToTable): void => vscode.postMessage(message)

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T

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
/** Floating filters apply this long after the last keystroke (AG Grid's default is 500 ms). */
const FILTER_DEBOUNCE_MS = 40

const dataColumn = (id: string, header: string, numericColumn: boolean, extra: ColDef<GridRow> = {}): ColDef<GridRow> => ({
  colId: id,
  headerName: header,
  headerTooltip: id,
  valueGetter: params => params.data?.cells[id],
  comparator: (a, b, _nodeA, _nodeB, descending) => compareValues(a, b, descending),
  filter: numericColumn ? 'agNumberColumnFilter' : 'agTextColumnFilter',
  filterParams: { debounceMs: FILTER_DEBOUNCE_MS },
  filterValueGetter: numericColumn
    ? params => numeric(params.data?.cells[id]) ?? null
    : params => {
        const value = params.data?.cells[id]
        return value === undefined || value === null ? null : String(value)
      },
  valueFormatter: params => formatNumber(params.value as Scalar | undefined),
  cellClass: numericColumn ? 'number' : undefined,
  ...extra
})

let groupBySweep = false
/** Sweeps whose rows are hidden under their header (remembered per workspace). */
const collapsed = new Set<string>()
/** Rows of each sweep left after filtering, for the headers (set while AG Grid sorts). */
let shownBySweep = new Map<string, number>()

const buildColumns = (columns: TableColumn[]): (ColDef<GridRow> | ColGroupDef<GridRow>)[] => {
  const group = (kind: TableColumn['kind'], title: string): ColGroupDef<GridRow>[] => {
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
      valueGetter: params => (params.data?.row?.tags.star ? 1 : 0),
      // a formatted value and a class, no cell renderer: each renderer is a component AG Grid
      // builds per cell, again for every row a sort or filter brings on screen
      valueFormatter: params => (params.value ? '★' : '☆'),
      cellClass: 'star',
      filter: 'agNumberColumnFilter',
      onCellClicked: params => {
        const row = params.data?.row
        if (row) {
          post({ type: 'star', run: row.run, starred: !row.tags.star })
        }
      }
    },
    dataColumn('run', 'run', false, { pinned: 'left', width: 220 }),
    dataColumn('sweep', 'sweep', false, { width: 140 }),
    dataColumn('status', 'status', false, {
      width: 120,
      filterParams: { filterOptions: ['equals', 'notEqual', 'contains'], maxNumConditions: 4, debounceMs: FILTER_DEBOUNCE_MS },
      valueFormatter: params => (typeof params.value === 'string' ? `${STATUS_ICON[params.value] ?? ''} ${params.value}` : ''),
      useValueFormatterForExport: false,
      cellClass: params => (typeof params.value === 'string' ? ['status', params.value] : 'status')
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
        params.data?.row
          ? Object.entries(params.data.row.tags)
              .map(([key, value]) => (value === true ? key : `${key}=${value}`))
              .join(' ')
          : ''
    },
    ...group('param', 'params'),
    ...group('metric', 'metrics')
  ]
}

/**
 * The table's first messages, when the extension had them before it wrote this page (the
 * server answered while the editor made the frame): in the HTML, so the grid is made with its
 * columns and replays them at once. Without them the grid starts empty, says `ready`, and is
 * laid out again when its columns come.
 */
const firstMessages = ((): TableToView[] => {
  const text = document.getElementById(FIRST_MESSAGES_ID)?.textContent
  return text ? (JSON.parse(text) as TableToView[]) : []
})()
const firstColumns = firstMessages.find(message => message.type === 'reset')?.columns ?? []

const counts = { total: 0, loaded: 0 }
/** Every run in the grid, by id (the group headers are computed from these). */
let known = new Map<string, TableRow>()
let tableColumns: TableColumn[] = firstColumns
let columnsKey = JSON.stringify(firstColumns)
let brushed: Set<string> | undefined
let restoring = false
let reselect = new Set<string>()

const api: GridApi<GridRow> = createGrid($('grid'), {
  theme: gridTheme,
  columnDefs: buildColumns(firstColumns),
  rowData: [],
  getRowId: params => params.data.id,
  defaultColDef: { sortable: true, resizable: true, floatingFilter: true, minWidth: 60, width: 110 },
  rowSelection: {
    mode: 'multiRow',
    checkboxes: true,
    headerCheckbox: true,
    enableClickSelection: true,
    isRowSelectable: node => !node.data?.group
  },
  selectionColumnDef: { pinned: 'left', width: 40 },
  animateRows: false,
  // rows drawn beyond the visible ones (AG Grid's default is 10): each sort or filter builds
  // them all again, and 4 keep scrolling smooth
  rowBuffer: 4,
  suppressColumnMoveAnimation: true,
  tooltipShowDelay: 400,
  // --- group by sweep (see experiments/groups.ts): headers are full-width rows of our own
  isFullWidthRow: params => Boolean(params.rowNode.data?.group),
  fullWidthCellRenderer: (params: { data?: GridRow }) => {
    const element = document.createElement('div')
    element.className = 'sweep-group'
    const group = params.data?.group
    if (group) {
      element.dataset.sweep = group.sweep
      element.textContent = groupLabel(group, collapsed.has(group.sweep), shownBySweep.get(group.sweep), formatNumber)
      element.title = collapsed.has(group.sweep) ? 'click to show its runs' : 'click to hide its runs'
      element.addEventListener('click', () => toggleGroup(group.sweep))
    }
    return element
  },
  alwaysPassFilter: node => Boolean(node.data?.group),
  postSortRows: params => {
    if (!groupBySweep) {
      return
    }
    const descending = api.getColumnState().find(column => column.colId === 'sweep')?.sort === 'desc'
    const { order, shown } = arrange(params.nodes, collapsed, descending)
    shownBySweep = shown
    params.nodes.length = 0
    for (const node of order) {
      params.nodes.push(node)
    }
  },
  isExternalFilterPresent: () => brushed !== undefined || (groupBySweep && collapsed.size > 0),
  doesExternalFilterPass: node => {
    const data = node.data
    if (!data || data.group) {
      return true
    }
    if (groupBySweep && collapsed.has(data.sweep)) {
      return false
    }
    return brushed?.has(data.id) ?? true
  },
  onSelectionChanged: () => {
    updateCounts()
    post({ type: 'selection', runs: selectedRuns() })
  },
  onModelUpdated: () => {
    updateCounts()
    if (groupBySweep) {
      refreshHeaders()
    }
    // For the benchmark: how long the grid took from the user's last click or keystroke
    // (a sort, a filter) to a new row model, measured here, without any round trip;
    // paintedMs: to the frame after it (the rows on screen are drawn by then).
    if (lastInput !== undefined) {
      const input = lastInput
      document.body.dataset.answerMs = String(Math.round(performance.now() - input))
      lastInput = undefined
      requestAnimationFrame(() => setTimeout(() => (document.body.dataset.paintedMs = String(Math.round(performance.now() - input)))))
    }
  },
  onFirstDataRendered: () => {
    document.body.dataset.firstRowsMs = String(Math.round(performance.now() - scriptStart))
    // and when the frame after them was painted, by the clock of the machine (ms since the epoch)
    requestAnimationFrame(() => setTimeout(() => (document.body.dataset.firstRowsPaintedAt = String(performance.timeOrigin + performance.now()))))
  },
  onSortChanged: () => {
    saveState()
    if (groupBySweep) {
      syncGroups()  // the best value is of the metric the table sorts by
    }
  },
  onColumnMoved: event => event.finished && saveState(),
  onColumnPinned: () => saveState(),
  onColumnVisible: () => saveState(),
  onColumnResized: event => event.finished && saveState(),
  onRowDoubleClicked: event => event.data?.row && post({ type: 'action', action: 'show', runs: [event.data.row.run] })
})

function selectedRuns(): string[] {
  return api.getSelectedRows().flatMap(row => (row.row ? [row.row.run] : []))
}

/** The metric a header names the best of: the first metric the table sorts by, else the first one. */
function groupMetric(): string | undefined {
  const sorted = api
    .getColumnState()
    .filter(column => column.sort && column.colId.startsWith('metrics.'))
    .sort((a, b) => (a.sortIndex ?? 0) - (b.sortIndex ?? 0))
  return sorted[0]?.colId.slice('metrics.'.length) ?? tableColumns.find(column => column.kind === 'metric')?.key
}

/** Make the grid's header rows match the runs: one per sweep while grouping, none otherwise. */
function syncGroups(): void {
  const wanted = groupBySweep ? summarise(known.values(), groupMetric()) : new Map()
  const add: GridRow[] = []
  const update: GridRow[] = []
  const remove: GridRow[] = []
  api.forEachNode(node => {
    if (node.data?.group && !wanted.has(node.data.sweep)) {
      remove.push(node.data)
    }
  })
  for (const group of wanted.values()) {
    ;(api.getRowNode(groupRow(group).id) ? update : add).push(groupRow(group))
  }
  if (add.length || update.length || remove.length) {
    api.applyTransaction({ add, update, remove })
  }
}

function refreshHeaders(): void {
  const nodes = [...shownBySweep.keys()].flatMap(sweep => {
    const node = api.getRowNode(`group:${sweep}`)
    return node ? [node] : []
  })
  api.redrawRows({ rowNodes: nodes })
}

function toggleGroup(sweep: string): void {
  if (!collapsed.delete(sweep)) {
    collapsed.add(sweep)
  }
  api.onFilterChanged()
  saveState()
}

function updateCounts(): void {
  const shown = groupBySweep ? [...shownBySweep.values()].reduce((sum, n) => sum + n, 0) : api.getDisplayedRowCount()
  const selected = api.getSelectedRows().length
  const loading = counts.loaded < counts.total ? ` · loading ${counts.loaded}/${counts.total}` : ''
  $('count').textContent = `${counts.total} runs · ${shown} shown · ${selected} selected${loading}`
  for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-min]')) {
    button.disabled = selected < Number(button.dataset.min)
  }
}

function saveState(): void {
  if (!restoring) {
    post({ type: 'state', columns: api.getColumnState(), groupBySweep, collapsed: [...collapsed] })
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
  tableColumns = columns
  const state = api.getColumnState()
  restoring = true
  api.setGridOption('columnDefs', buildColumns(columns))
  api.applyColumnState({ state, applyOrder: true })
  restoring = false
  fillColumnChooser()
}

/** Rows have come (in the grid now): selection kept across a reload, the counts. */
const rowsIn = (rows: TableRow[], total: number): void => {
  if (reselect.size) {
    // A reload (new condition, refresh) keeps the runs the user had selected.
    const again = rows.filter(row => reselect.has(row.run))
    again.forEach(row => api.getRowNode(row.run)?.setSelected(true))
  }
  counts.loaded = known.size
  counts.total = Math.max(total, known.size)
  updateCounts()
}

const upsert = (rows: TableRow[]): void => {
  const add: GridRow[] = []
  const update: GridRow[] = []
  for (const row of rows) {
    ;(known.has(row.run) ? update : add).push(gridRow(row))
    known.set(row.run, row)
  }
  api.applyTransaction({ add, update })
  if (groupBySweep) {
    syncGroups()
  }
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

/** Grouping on or off: header rows come or go; AG Grid filters and sorts again, we arrange. */
const setGroupBySweep = (on: boolean, save = true): void => {
  groupBySweep = on
  $<HTMLInputElement>('group').checked = on
  if (!on) {
    shownBySweep = new Map()
  }
  syncGroups()
  api.onFilterChanged()
  if (save) {
    saveState()
  }
}

// --- toolbar ------------------------------------------------------------------------------
for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-action]')) {
  button.addEventListener('click', () => {
    const action = button.dataset.action as string
    if (action === 'csv') {
      const onlySelected = api.getSelectedRows().length > 0
      const csv = api.getDataAsCsv({ onlySelected, skipColumnGroupHeaders: true, allColumns: false,
        shouldRowBeSkipped: params => Boolean(params.node.data?.group),
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

function receive(message: TableToView): void {
  switch (message.type) {
    case 'reset': {
      reselect = new Set(selectedRuns())
      known = new Map()
      counts.total = message.total
      counts.loaded = 0
      api.setGridOption('rowData', [])
      setColumns(message.columns)
      if (message.state) {
        restoring = true
        api.applyColumnState({ state: message.state.columns as ColumnState[], applyOrder: true })
        restoring = false
        collapsed.clear()
        for (const sweep of message.state.collapsed ?? []) {
          collapsed.add(sweep)
        }
        if (message.state.groupBySweep !== groupBySweep) {
          setGroupBySweep(message.state.groupBySweep, false)
        }
      }
      $<HTMLInputElement>('where').value = message.where
      say(message.where ? `where ${message.where}` : '')
      break
    }
    case 'rows':
      setColumns(message.columns)
      upsert(message.rows)
      rowsIn(message.rows, message.total)
      break
    case 'remove': {
      const gone = message.runs.filter(run => known.delete(run))
      api.applyTransaction({ remove: gone.map(run => ({ id: run }) as GridRow) })
      if (groupBySweep) {
        syncGroups()
      }
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
}

window.addEventListener('message', (event: MessageEvent<TableToView>) => receive(event.data))
firstMessages.forEach(receive)

// For the benchmark: when this frame started to load (ms since the epoch), and how long it
// took to get to this script (its download and compile) and to run it
document.body.dataset.loaded = JSON.stringify({
  at: performance.timeOrigin,
  fetched: performance.getEntriesByType('resource').find(entry => entry.name.endsWith('.js'))?.toJSON(),
  script: scriptStart,
  done: performance.now(),
  firstMessagesInHtml: firstMessages.length
})
post({ type: 'ready' })
