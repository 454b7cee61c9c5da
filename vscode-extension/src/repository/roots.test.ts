import { strict as assert } from 'assert'
import { mkdirSync, mkdtempSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { collectRepoRoots, findRepoRoot, rootForPath } from './roots'

describe('repository roots', () => {
  const base = mkdtempSync(join(tmpdir(), 'gitexp-roots-'))
  const repo = join(base, 'repo')
  const nested = join(repo, 'sub', 'deep')
  const other = join(base, 'other')
  mkdirSync(join(repo, '.git'), { recursive: true })
  mkdirSync(nested, { recursive: true })
  mkdirSync(other)

  it('finds the repository of a folder or of its nearest ancestor', async () => {
    assert.equal(await findRepoRoot(repo), repo)
    assert.equal(await findRepoRoot(nested), repo)
  })

  it('collects each repository once and skips folders outside any repository', async () => {
    const exists = async (path: string) => path === join(repo, '.git')
    assert.deepEqual(await collectRepoRoots([nested, other, repo], exists), [repo])
  })

  it('maps a path to the deepest repository that holds it', () => {
    const inner = join(repo, 'sub')
    assert.equal(rootForPath([repo, inner], join(inner, 'x.yml')), inner)
    assert.equal(rootForPath([repo], join(repo, 'x.yml')), repo)
    assert.equal(rootForPath([repo], `${repo}2/x.yml`), undefined)
  })
})
