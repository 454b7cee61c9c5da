import { strict as assert } from 'assert'
import { chmodSync, mkdtempSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { findGitexp, launcherPath, missingExecutableMessage, resolveExecutable } from './executable'

describe('resolveExecutable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gitexp-exe-'))
  const bin = join(dir, 'bin')
  writeFileSync(join(dir, 'plain'), '')
  require('fs').mkdirSync(bin)
  writeFileSync(join(bin, 'gitexp'), '#!/bin/sh\n')
  chmodSync(join(bin, 'gitexp'), 0o755)

  it('finds a bare name on PATH', async () => {
    assert.equal(await resolveExecutable('gitexp', '/', { PATH: `/nowhere:${bin}` }), join(bin, 'gitexp'))
  })

  it('resolves a relative path from the repository root', async () => {
    assert.equal(await resolveExecutable('bin/gitexp', dir, { PATH: '' }), join(bin, 'gitexp'))
  })

  it('rejects missing and non-executable files', async () => {
    assert.equal(await resolveExecutable('gitexp', '/', { PATH: dir }), undefined)
    assert.equal(await resolveExecutable('plain', dir, { PATH: dir }), undefined)
    assert.equal(await resolveExecutable(join(dir, 'plain'), '/', {}), undefined)
  })

  it('defaults an empty setting to gitexp', async () => {
    assert.equal(await resolveExecutable('  ', '/', { PATH: bin }), join(bin, 'gitexp'))
  })

  it('tells the user which setting to fix and how', () => {
    const message = missingExecutableMessage('/opt/gitexp')
    assert.match(message, /"\/opt\/gitexp"/)
    assert.match(message, /gitexp\.executable/)
    assert.match(message, /pip install gitexp/)
  })
})

describe('findGitexp', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gitexp-find-'))
  const make = (folder: string): string => {
    require('fs').mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, 'gitexp'), '#!/bin/sh\n')
    chmodSync(join(folder, 'gitexp'), 0o755)
    return join(folder, 'gitexp')
  }
  const onPath = make(join(dir, 'path-bin'))
  const interpreter = make(join(dir, 'env', 'bin'))
  const repo = join(dir, 'repo')
  const venv = make(join(repo, '.venv', 'bin'))

  it("prefers the selected interpreter's folder, then the repository's venv, then PATH", async () => {
    const env = { PATH: join(dir, 'path-bin') }
    assert.equal(await findGitexp('gitexp', repo, join(dir, 'env', 'bin'), env), interpreter)
    assert.equal(await findGitexp('gitexp', repo, undefined, env), venv)
    assert.equal(await findGitexp('', join(dir, 'elsewhere'), join(dir, 'nothing'), env), onPath)
  })

  it('finds the active virtualenv, and the PATH of the editor server when the host lost it', async () => {
    const active = { PATH: '/usr/bin', VIRTUAL_ENV: join(dir, 'env') }
    assert.equal(await findGitexp('gitexp', join(dir, 'elsewhere'), undefined, active), interpreter)
    const lost = { PATH: '/usr/bin' }
    assert.equal(await findGitexp('gitexp', join(dir, 'elsewhere'), undefined, lost, undefined, join(dir, 'path-bin')), onPath)
    assert.equal(await findGitexp('gitexp', join(dir, 'elsewhere'), undefined, lost, undefined, ''), undefined)
  })

  it("reads the editor server's PATH from /proc (Linux)", async function () {
    if (process.platform !== 'linux') {
      this.skip()
    }
    assert.equal(await launcherPath({ CODE_SERVER_PARENT_PID: String(process.pid) }), process.env.PATH ?? '')
    assert.equal(await launcherPath({}), '')
  })

  it('keeps gitexp.executable as an override', async () => {
    assert.equal(await findGitexp(onPath, repo, join(dir, 'env', 'bin'), {}), onPath)
    assert.equal(await findGitexp('/no/such/gitexp', repo, join(dir, 'env', 'bin'), {}), undefined)
  })
})
