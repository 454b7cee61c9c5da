"""Live runs, from the index: what `gitexp ps` shows, without reading every record.

Every sync re-checks the index's queued and running rows (their live folders, and whether
their scheduler still lives), so these rows are as fresh as reading each record, at the
cost of the live rows only.
"""

from __future__ import annotations

import json

from gitexp.index.load import Reconcile
from gitexp.index.sync import sync
from gitexp.record import store
from gitexp.record.git import Git
from gitexp.record.refs import RunRef


def live_runs(git: Git, reconcile: Reconcile | None = None) -> list[store.Run]:
    """Queued and running runs of every sweep (runs of a dead scheduler are `lost` by now)."""
    con = sync(git, reconcile)
    try:
        rows = con.execute("""SELECT run, commit, info::VARCHAR, metrics::VARCHAR, live FROM _core
                              WHERE status IN ('queued', 'running') ORDER BY run""").fetchall()
    finally:
        con.close()
    return [store.Run(RunRef(*run.split("/", 1)), commit, json.loads(info), json.loads(metrics or "{}"), bool(live))
            for run, commit, info, metrics, live in rows]
