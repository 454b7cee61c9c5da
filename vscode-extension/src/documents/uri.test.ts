import { strict as assert } from 'assert'
import { Uri } from 'vscode'
import { fileUri, parseFileUri } from './uri'

describe('gitexp: file uris', () => {
  it('round-trip repository, run and a nested path with odd characters', () => {
    const uri = fileUri('/home/me/my repo', 'sweep-1/lr0.1', 'src/a b/c#d.py')
    assert.equal(uri.scheme, 'gitexp')
    const parsed = parseFileUri(Uri.parse(uri.toString()))
    assert.deepEqual(parsed, { repo: '/home/me/my repo', run: 'sweep-1/lr0.1', path: 'src/a b/c#d.py' })
  })

  it('reject addresses without a file path or repository', () => {
    assert.equal(parseFileUri({ path: '/q/a', query: 'repo=%2Fr' }), undefined)
    assert.equal(parseFileUri({ path: '/q/a/x.py', query: '' }), undefined)
  })
})
