"""What `gitexp run` shows while a sweep runs.

In a terminal: a live table (run, GPU, status, elapsed, latest metrics) under the jobs' output,
and an overall progress bar. Piped or detached: one plain line per start and per end, so a log
file reads well. The scheduler's hooks call `queued`, `started`, `finished` and `tick`.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitexp.record import model as record
from gitexp.record.refs import RunRef

STYLE = {"completed": "green", "failed": "red", "running": "cyan", "queued": "dim",
         "cancelled": "yellow", "lost": "magenta"}
METRICS_SECONDS = 1.0  # how often the live metrics of running jobs are re-read
FINISHED_SHOWN = 5  # finished runs kept in the table, newest first


@dataclass
class _Row:
    run: RunRef
    status: str = "queued"
    slot: str = ""
    started: float | None = None
    duration: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    ended_at: float = 0.0


class Progress:
    def __init__(self, gitexp_dir: Path, console: Any, live: bool | None = None):
        """`console`: a rich Console, or the CLI's stand-in that makes one only when a terminal
        needs it (`.rich`); piped, progress is plain lines and rich is never imported."""
        self.gitexp_dir = gitexp_dir
        self.console = console
        self.rows: dict[RunRef, _Row] = {}
        self._counts: Counter[str] = Counter()  # runs per status, kept as they change: a line per end stays O(1)
        self.live_mode = console.is_terminal if live is None else live
        self._live: Any = None  # rich.live.Live in a terminal (imported only there)
        self._metrics_at = 0.0

    # -- hooks ---------------------------------------------------------------------------
    def queued(self, runs: list[RunRef]) -> None:
        self.rows = {run: _Row(run) for run in runs}
        self._counts = Counter({"queued": len(self.rows)})
        if self.live_mode:
            from rich.live import Live

            self._live = Live(console=getattr(self.console, "rich", self.console), get_renderable=self.render, refresh_per_second=4,
                              redirect_stdout=False, redirect_stderr=False)
            self._live.start()

    def started(self, run: RunRef, placement: Any, attempt: int) -> None:
        row = self._row(run)
        self._status(row, "running")
        row.slot, row.started, row.duration = placement.slot, time.time(), None
        if not self.live_mode:
            again = f" (attempt {attempt + 1})" if attempt else ""
            self._line(f"{run.name} started on {placement.slot}{again}: {placement.reason}")

    def finished(self, run: RunRef, status: str, exit_code: int | None, duration: float | None,
                 metrics: dict[str, Any]) -> None:
        row = self._row(run)
        self._status(row, status)
        row.duration, row.ended_at = duration, time.time()
        row.metrics = metrics or row.metrics
        if not self.live_mode:
            took = f" in {duration:.1f}s" if duration is not None else ""
            code = f" (exit {exit_code})" if exit_code not in (None, 0) else ""
            shown = "  " + _metrics_text(metrics) if metrics else ""
            self._line(f"{run.name} {status}{took}{code}{shown}  [{self.summary()}]")

    def _row(self, run: RunRef) -> _Row:
        if run not in self.rows:
            self.rows[run] = _Row(run)
            self._counts["queued"] += 1
        return self.rows[run]

    def _status(self, row: _Row, status: str) -> None:
        self._counts[row.status] -= 1
        self._counts[status] += 1
        row.status = status

    def tick(self) -> None:
        now = time.monotonic()
        if not self.live_mode or now - self._metrics_at < METRICS_SECONDS:
            return
        self._metrics_at = now
        for row in self.rows.values():
            if row.status == "running":
                files = record.RunFiles.for_run(self.gitexp_dir, row.run)
                row.metrics = record.summarize(record.read_series(files.series),
                                               record.read_json(files.summary_overrides, {}))

    def output(self, text: str) -> None:
        """A job's output line: printed above the live table, or straight through."""
        if self._live is not None:
            from rich.text import Text

            self._live.console.print(Text(text.rstrip("\n")), highlight=False)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()

    def close(self) -> None:
        if self._live is not None:
            self._live.refresh()
            self._live.stop()
            self._live = None

    # -- rendering -----------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return {status: n for status, n in self._counts.items() if n > 0}

    def summary(self) -> str:
        counts = self.counts()
        done = sum(n for status, n in counts.items() if status in record.FINAL_STATUSES)
        parts = [f"{done}/{len(self.rows)} done"]
        parts += [f"{counts[s]} {s}" for s in ("running", "failed", "cancelled") if counts.get(s)]
        return ", ".join(parts)

    def render(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        now = time.time()
        table = Table(box=None, pad_edge=False)
        for column in ("run", "gpu", "status", "elapsed", "metrics"):
            table.add_column(column, overflow="ellipsis", no_wrap=True)
        running = [r for r in self.rows.values() if r.status == "running"]
        finished = sorted((r for r in self.rows.values() if r.status in record.FINAL_STATUSES),
                          key=lambda r: -r.ended_at)[:FINISHED_SHOWN]
        for row in running + finished:
            elapsed = row.duration if row.duration is not None else (now - row.started if row.started else None)
            table.add_row(row.run.name, row.slot or "-", Text(row.status, style=STYLE.get(row.status, "")),
                          f"{elapsed:.0f}s" if elapsed is not None else "-", _metrics_text(row.metrics))
        counts = self.counts()
        done = sum(n for status, n in counts.items() if status in record.FINAL_STATUSES)
        from rich.progress_bar import ProgressBar

        bar = ProgressBar(total=max(1, len(self.rows)), completed=done, width=40)
        line = Table.grid(padding=(0, 1))
        line.add_row(bar, Text(self.summary()))
        return Group(table, line)

    def _line(self, text: str) -> None:
        # one plain line, as a log wants it: no wrapping at the console's width, and a write
        # instead of a rich render (2 ms each: a sweep of short jobs prints two per run)
        self.console.file.write(f"gitexp: {text}\n")
        self.console.file.flush()


def _metrics_text(metrics: dict[str, Any]) -> str:
    def fmt(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    return " ".join(f"{k}={fmt(v)}" for k, v in list(metrics.items())[:4])


class Watched:
    """Job hooks that also tell a `Progress` what happened (wraps launch's hooks unchanged).

    A run's end is told once its record is in git (`hooks.settled`, the record writer's word):
    what the screen or the log says has ended is what a `kill -9` right then would leave."""

    def __init__(self, hooks: Any, progress: Progress):
        self.hooks = hooks
        self.progress = progress
        self._ended: list[tuple[Any, str, int | None, float | None, dict[str, Any]]] = []

    def start(self, task, placement):
        process = self.hooks.start(task, placement)
        self.progress.started(task.key, placement, task.attempt)
        return process

    def finish(self, task, placement, process, exit_code, cancelled):
        retry = self.hooks.finish(task, placement, process, exit_code, cancelled)
        outcome = self.hooks.outcomes[task.key]
        self._ended.append((task.key, outcome.status, exit_code, outcome.duration, outcome.metrics))
        self.report()
        return retry

    def cancel_queued(self, task) -> None:
        self.hooks.cancel_queued(task)
        self._ended.append((task.key, "cancelled", None, None, {}))
        self.report()

    def tick(self, running) -> None:
        self.hooks.tick(running)
        self.report()
        self.progress.tick()

    def report(self, everything: bool = False) -> None:
        """Tell the progress of the ends whose records are written (`everything`: all of them,
        after the launch flushed its writer)."""
        settled = getattr(self.hooks, "settled", None)
        waiting = []
        for end in self._ended:
            if everything or settled is None or settled(end[0]):
                self.progress.finished(*end)
            else:
                waiting.append(end)
        self._ended = waiting

    def stop_requests(self):
        return self.hooks.stop_requests()
