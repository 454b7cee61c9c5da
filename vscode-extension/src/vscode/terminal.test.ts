import { strict as assert } from 'assert'
import { shellWord, terminalEnv, withExecutable, withPath } from './terminal'

describe('withExecutable', () => {
  it('keeps the server command when the executable is the default', () => {
    assert.equal(withExecutable('gitexp run sweep.yml', 'gitexp'), 'gitexp run sweep.yml')
  })

  it('runs the configured executable, quoted when needed', () => {
    assert.equal(withExecutable('gitexp run -n s.yml', '.venv/bin/gitexp'), '.venv/bin/gitexp run -n s.yml')
    assert.equal(withExecutable('gitexp run s.yml', "/my env/gitexp"), "'/my env/gitexp' run s.yml")
  })

  it('leaves other commands alone', () => {
    assert.equal(withExecutable('python x.py', '/opt/gitexp'), 'python x.py')
  })
})

describe('terminalEnv', () => {
  it("puts the interpreter's folder first on PATH", () => {
    assert.deepEqual(terminalEnv('/p/.venv/bin', '/usr/bin:/bin'), { PATH: '/p/.venv/bin:/usr/bin:/bin' })
    assert.equal(terminalEnv(undefined, '/usr/bin'), undefined)
  })
})

describe('shellWord', () => {
  it('quotes only what needs it', () => {
    assert.equal(shellWord('q/lr0.1'), 'q/lr0.1')
    assert.equal(shellWord("it's here"), "'it'\\''s here'")
  })
})

describe('withPath', () => {
  it("puts the interpreter's folder first on the command's PATH (POSIX shells)", () => {
    assert.equal(withPath('gitexp run s.yml', '/p/.venv/bin', 'linux'), 'PATH=/p/.venv/bin:"$PATH" gitexp run s.yml')
    assert.equal(withPath('gitexp run s.yml', '/my env/bin', 'darwin'), `PATH='/my env/bin':"$PATH" gitexp run s.yml`)
    assert.equal(withPath('gitexp run s.yml', '/p/bin', 'win32'), 'gitexp run s.yml')
    assert.equal(withPath('gitexp run s.yml', undefined, 'linux'), 'gitexp run s.yml')
  })
})
