import { strict as assert } from 'assert'
import { withExecutable } from './terminal'

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
