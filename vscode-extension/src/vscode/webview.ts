import { randomBytes } from 'crypto'

/** A nonce for the one script tag a webview may run (its CSP names it). */
export const nonce = (): string => randomBytes(16).toString('base64')

/**
 * JSON for a `<script type="application/json">` element: no `<` is left in it, so no
 * string in the data can end the element (`</script>`) or open a comment.
 */
export const jsonInHtml = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c')

/**
 * The HTML shell of a gitexp webview: a strict CSP (no network, only our bundled script
 * with its nonce, styles from the extension and inline style attributes set by charts).
 * `data`: JSON the script reads from the element with that id (the browser runs no JSON).
 */
export const webviewHtml = (options: {
  title: string
  cspSource: string
  body: string
  script?: { src: string; nonce: string }
  style?: string
  data?: { id: string; value: unknown }
}): string => {
  const { title, cspSource, body, script, style, data } = options
  const scriptSrc = script ? `'nonce-${script.nonce}'` : "'none'"
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${cspSource} data:; style-src ${cspSource} 'unsafe-inline'; script-src ${scriptSrc};">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${title}</title>
<style>
body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 0 16px 16px; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--vscode-panel-border, var(--vscode-editorWidget-border)); padding: 2px 8px; text-align: left; font-family: var(--vscode-editor-font-family); }
th { position: sticky; top: 0; background: var(--vscode-editorWidget-background); }
tr:nth-child(even) td { background: var(--vscode-list-hoverBackground); }
td.number { text-align: right; }
${style ?? ''}
</style>
</head>
<body>
${body}
${data ? `<script type="application/json" id="${data.id}">${jsonInHtml(data.value)}</script>` : ''}
${script ? `<script nonce="${script.nonce}" src="${script.src}"></script>` : ''}
</body>
</html>`
}
