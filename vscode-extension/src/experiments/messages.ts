/** Messages between the experiments table webview and the extension (both directions). */
import type { Scalar, TableColumn, TableRow } from '../languageClient/protocol'

/** The element of the table's HTML that carries its first messages (see panel.ts). */
export const FIRST_MESSAGES_ID = 'first-messages'

export interface SavedState {
  /** AG Grid's column state: order, width, visibility, pinning, sort */
  columns: unknown[]
  groupBySweep: boolean
  /** sweeps whose rows are hidden under their group row */
  collapsed?: string[]
}

export type ViewToTable =
  | { type: 'ready' }
  | { type: 'action'; action: string; runs: string[] }
  | { type: 'selection'; runs: string[] }
  | { type: 'state'; columns: unknown[]; groupBySweep: boolean; collapsed: string[] }
  | { type: 'where'; where: string }
  | { type: 'tag'; runs: string[]; set: Record<string, Scalar>; remove: string[] }
  | { type: 'star'; run: string; starred: boolean }
  | { type: 'csv'; text: string }

export type TableToView =
  | { type: 'reset'; total: number; columns: TableColumn[]; state?: SavedState; where: string }
  | { type: 'rows'; rows: TableRow[]; columns: TableColumn[]; total: number }
  | { type: 'remove'; runs: string[] }
  | { type: 'brushed'; runs?: string[] }
  | { type: 'message'; text: string; error: boolean }
