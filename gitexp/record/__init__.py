"""The record wing: everything that reads or writes git.

It owns the git plumbing (`git`), the ref names (`refs`), the run-record format (`model`:
file names, `run.json`, the series), writing and reading records on their refs (`store`,
`recorder`), the code snapshot (`snapshot`), sharing through remotes (`remote`), and the
facts a record states about its process and machine (`liveness`, `environment`). Every other
wing stands on it, so it imports no other wing: only `gitexp.errors`.
"""
