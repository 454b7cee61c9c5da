/** The message of anything thrown: LSP errors (DuckDB's message for bad SQL), Errors, strings. */
export const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error)
