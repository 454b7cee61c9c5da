import { strict as assert } from 'assert'
import { installedExtensions, Uri } from '../test/vscodeMock'
import { selectedPythonBin, selectedPythonBinWithin } from './interpreter'

/** ms-python.python's environments API answering `active`, resolving with `resolve`. */
const installPython = (active: string, resolve: (path: string) => string | undefined) => {
  const environments = {
    getActiveEnvironmentPath: () => ({ id: active, path: active }),
    resolveEnvironment: async (env: { path: string }) => {
      const executable = resolve(env.path)
      return executable ? { id: executable, path: executable, executable: { uri: Uri.file(executable) } } : undefined
    }
  }
  installedExtensions['ms-python.python'] = { isActive: true, exports: { environments }, activate: async () => ({ environments }) }
}

describe('selectedPythonBin', () => {
  afterEach(() => delete installedExtensions['ms-python.python'])

  it("is the folder of the selected interpreter's executable", async () => {
    installPython('/p/.venv', () => '/p/.venv/bin/python')
    assert.equal(await selectedPythonBin(), '/p/.venv/bin')
  })

  it('is undefined without the Python extension', async () => {
    assert.equal(await selectedPythonBin(), undefined)
  })

  // The real extension, with nothing selected yet, answers id DEFAULT_PYTHON, path "python",
  // and resolves it by running it: to nothing where no `python` is on PATH.
  it('is undefined, not ".", when the extension answers a bare "python" it cannot resolve', async () => {
    installPython('python', () => undefined)
    assert.equal(await selectedPythonBin(), undefined)
  })

  it('takes an absolute path the extension cannot resolve as it is', async () => {
    installPython('/opt/py/bin/python3', () => undefined)
    assert.equal(await selectedPythonBin(), '/opt/py/bin')
  })

  it('gives up waiting for an extension that does not answer, and still hands over the late answer', async () => {
    let activated: (api: unknown) => void = () => undefined
    const environments = {
      getActiveEnvironmentPath: () => ({ id: '/late/bin/python', path: '/late/bin/python' }),
      resolveEnvironment: async () => undefined
    }
    installedExtensions['ms-python.python'] = {
      isActive: false,
      exports: undefined,
      activate: () => new Promise(resolve => (activated = resolve))
    }
    const started = Date.now()
    const answer = await selectedPythonBinWithin(undefined, 50)
    assert.equal(answer.answered, false)
    assert.ok(Date.now() - started < 1000)
    activated({ environments })
    assert.equal(await answer.late, '/late/bin')
  })

  it('answers at once when the extension does', async () => {
    installPython('/p/.venv', () => '/p/.venv/bin/python')
    assert.deepEqual({ ...(await selectedPythonBinWithin(undefined, 5000)), late: undefined },
      { answered: true, bin: '/p/.venv/bin', late: undefined })
  })
})
