"""The run wing: making runs happen.

It owns the launch of a sweep (`launch`), the scheduler that fills the slots (`scheduler`,
`gpus`, `ledger`), the child processes (`executor`), detached sweeps (`detach`), live
progress (`progress`), the verbs on live runs (`control`: ps, logs, kill) and the engines
that run jobs elsewhere (`backends`: Ray, Slurm/runx farms). It turns sweep specs into records,
so it may import `sweep`, `track` and `record` — never `index`, the CLI or the language server.
"""

import sys
import types


class _CallableWing(types.ModuleType):
    """Importing this package rebinds `gitexp.run` from the function to it; calling it still works."""

    def __call__(self, name: str, repo: str = ".") -> object:
        from gitexp import analysis

        return analysis.run(name, repo)


sys.modules[__name__].__class__ = _CallableWing
