/**
 * The experiments table's AG Grid theme: VS Code's colours and font, dense rows (how many rows
 * are on screen is most of what a sort or filter costs). bench/webview_floor/table.js, the
 * benchmark's plain AG Grid, takes the same one.
 */
import { themeQuartz } from 'ag-grid-community'

export const gridTheme = themeQuartz.withParams({
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
