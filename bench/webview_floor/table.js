// The floor of the experiments table's benchmark (bench_webview.mjs): AG Grid alone, the same
// modules, rows, columns, theme (gridTheme.ts), viewport and speed settings as the table webview
// (rowBuffer 4, no row animation, the same 40 ms filter debounce), and none of its code: cells are plain nested
// `field`s with AG Grid's own comparators, no value getters or formatters, no grouping, no
// counts. What the table costs beyond this is gitexp's; the rest is the library's on this
// machine. Timed as the table times itself: the last click or keystroke to the new row model
// (answerMs) and to the frame after it (paintedMs).
import {
  CellStyleModule, ClientSideRowModelApiModule, ClientSideRowModelModule, ColumnApiModule, CsvExportModule,
  ExternalFilterModule, ModuleRegistry, NumberFilterModule, QuickFilterModule, RenderApiModule, RowApiModule,
  RowSelectionModule, TextFilterModule, TooltipModule, createGrid
} from 'ag-grid-community'
import { gridTheme } from '../../vscode-extension/src/webview/gridTheme'

ModuleRegistry.registerModules([ClientSideRowModelModule, ClientSideRowModelApiModule, RowApiModule, RenderApiModule,
  ColumnApiModule, RowSelectionModule, TextFilterModule, NumberFilterModule, QuickFilterModule, ExternalFilterModule,
  TooltipModule, CellStyleModule, CsvExportModule])

let lastInput
for (const type of ['click', 'keydown', 'input']) {
  window.addEventListener(type, () => (lastInput = performance.now()), { capture: true })
}

const numeric = type => type === 'BIGINT' || type === 'DOUBLE'
const column = (field, header, isNumber, extra = {}) => ({
  field, headerName: header, headerTooltip: field,
  filter: isNumber ? 'agNumberColumnFilter' : 'agTextColumnFilter',
  filterParams: { debounceMs: 40 },
  ...extra
})
const columnDefs = columns => [
  { field: 'tags.star', headerName: '★', width: 44, pinned: 'left', filter: 'agNumberColumnFilter' },
  column('run', 'run', false, { pinned: 'left', width: 220 }),
  column('sweep', 'sweep', false, { width: 140 }),
  column('status', 'status', false, { width: 120 }),
  column('created', 'created', false, { width: 170 }),
  column('duration', 'duration', true, { width: 100 }),
  column('exit_code', 'exit', true, { width: 80 }),
  column('tags_text', 'tags', false, { width: 140 }),  // no run has tags here: an empty column, as in the table
  ...['param', 'metric'].map(kind => ({
    headerName: `${kind}s`,
    children: columns.filter(c => c.kind === kind).map(c => column(`${kind}s.${c.key}`, c.key, numeric(c.type)))
  }))
]

let total = 0
const count = () => {
  document.getElementById('count').textContent = `${total} runs · ${api.getDisplayedRowCount()} shown`
}
const api = createGrid(document.getElementById('grid'), {
  theme: gridTheme,
  rowData: [],
  getRowId: params => params.data.run,
  defaultColDef: { sortable: true, resizable: true, floatingFilter: true, minWidth: 60, width: 110 },
  rowSelection: { mode: 'multiRow', checkboxes: true, headerCheckbox: true, enableClickSelection: true },
  selectionColumnDef: { pinned: 'left', width: 40 },
  animateRows: false,
  rowBuffer: 4,
  suppressColumnMoveAnimation: true,
  onModelUpdated: () => {
    count()
    if (lastInput !== undefined) {
      const input = lastInput
      lastInput = undefined
      document.body.dataset.answerMs = String(Math.round(performance.now() - input))
      requestAnimationFrame(() => setTimeout(() => (document.body.dataset.paintedMs = String(Math.round(performance.now() - input)))))
    }
  }
})

// the bench sends 'reset' (the columns) first, then pages of 'rows'
window.addEventListener('message', ({ data: message }) => {
  total = message.total
  if (message.type === 'reset') {
    api.setGridOption('columnDefs', columnDefs(message.columns))
  } else if (message.type === 'rows') {
    api.applyTransaction({ add: message.rows })
  }
})
acquireVsCodeApi().postMessage({ type: 'ready' })
