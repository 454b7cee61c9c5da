// A stand-in for ms-python.python in gitexp's e2e (the real extension is not installable
// offline). It exports the part of the public API that @vscode/python-extension types:
// environments.getActiveEnvironmentPath / resolveEnvironment / onDidChangeActiveEnvironmentPath
// / updateActiveEnvironmentPath, over the interpreters listed (one per line) in the file
// $GITEXP_E2E_PYTHONS; the command "E2E: Use the Second Python Interpreter" selects the second
// (idempotent: a command palette retry must not switch back). As the real one (checked with
// GITEXP_E2E_PYTHON_EXTENSION, see run.sh), it fires onDidChangeActiveEnvironmentPath once
// after it starts with the path that was active all along (the real one does when its first
// interpreter discovery ends), and resolves nothing for a bare name (the real one resolves
// "python" by running it, nothing when it is not on PATH, as on Debian).
const vscode = require('vscode')
const { readFileSync } = require('fs')
const { dirname, isAbsolute } = require('path')

exports.activate = context => {
  // (the list sits beside the workspace folder; the variable names it when the host inherits it)
  const list = process.env.GITEXP_E2E_PYTHONS || `${dirname(vscode.workspace.workspaceFolders[0].uri.fsPath)}/pythons`
  const pythons = readFileSync(list, 'utf8').split('\n').filter(Boolean)
  let active = pythons[0]
  const changed = new vscode.EventEmitter()
  // the startup event, a second after the first subscriber (so that it is seen)
  let announced = false
  const onDidChangeActiveEnvironmentPath = (listener, thisArg, disposables) => {
    const subscription = changed.event(listener, thisArg, disposables)
    if (!announced) {
      announced = true
      setTimeout(() => changed.fire({ ...environment(active), resource: undefined }), 1000)
    }
    return subscription
  }
  const environment = path => ({ id: path, path })
  const environments = {
    getActiveEnvironmentPath: () => environment(active),
    resolveEnvironment: async env => {
      const path = typeof env === 'string' ? env : env.path
      if (!isAbsolute(path)) {
        return undefined
      }
      return { ...environment(path), executable: { uri: vscode.Uri.file(path), bitness: '64-bit', sysPrefix: dirname(dirname(path)) } }
    },
    updateActiveEnvironmentPath: async env => {
      const path = typeof env === 'string' ? env : env.path
      if (path !== active) {
        active = path
        changed.fire({ ...environment(active), resource: undefined })
      }
    },
    onDidChangeActiveEnvironmentPath,
    known: pythons.map(environment)
  }
  context.subscriptions.push(
    changed,
    vscode.commands.registerCommand('gitexpE2e.useSecondInterpreter', () => environments.updateActiveEnvironmentPath(pythons[1]))
  )
  return { ready: Promise.resolve(), environments }
}
