import { strict as assert } from 'assert'
import { Disposable } from './disposable'

class Owner extends Disposable {
  public add(log: string[], name: string) {
    return this.track({ dispose: () => log.push(name) })
  }
}

describe('Disposable', () => {
  it('disposes what it tracked once, newest first', () => {
    const log: string[] = []
    const owner = new Owner()
    owner.add(log, 'a')
    owner.add(log, 'b')
    owner.dispose()
    owner.dispose()
    assert.deepEqual(log, ['b', 'a'])
  })

  it('disposes at once what is tracked after disposal', () => {
    const log: string[] = []
    const owner = new Owner()
    owner.dispose()
    owner.add(log, 'late')
    assert.deepEqual(log, ['late'])
  })
})
