import { strict as assert } from 'assert'
import { chmodSync, mkdtempSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { missingExecutableMessage, resolveExecutable } from './executable'

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
