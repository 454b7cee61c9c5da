"""The `gitexp` command: parse arguments, call one verb of the library, render its result.

No logic lives here. The entry point is the only place that turns a `GitexpError` into a
one-line message and an exit code (2 for bad input); `--debug` shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, List, Optional

import typer

from gitexp.errors import GitexpError

app = typer.Typer(
    name="gitexp", no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False,
    help="Version ML experiments inside your own git repository: every run is a commit on a hidden ref.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
# environment variables that make rich treat a pipe as a terminal (or say what a terminal can do)
_RICH_TERMINAL_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
Segment = Any  # a str, or a (str, rich style) pair


class _Console:
    """rich's Console, made on first use. Output to a pipe and one-line messages are written
    straight to the stream, so `gitexp show`/`diff`/`run` into a pipe never import rich (a third
    of a `show`'s time); a terminal gets rich's colours and tables as before."""

    def __init__(self, stderr: bool = False):
        self.stderr = stderr
        self._rich: Any = None

    @property
    def file(self) -> Any:
        return sys.stderr if self.stderr else sys.stdout

    @property
    def is_terminal(self) -> bool:
        if self._rich is None and not any(k in os.environ for k in _RICH_TERMINAL_ENV):
            try:
                if not self.file.isatty():
                    return False
            except (AttributeError, ValueError):  # a closed or odd stream: let rich decide
                pass
        return self.rich.is_terminal

    @property
    def rich(self) -> Any:
        if self._rich is None:
            from rich.console import Console

            self._rich = Console(stderr=self.stderr, highlight=False, soft_wrap=True)
            if not self.stderr and not self._rich.is_terminal:  # piped: never wrap table cells, a line per row
                self._rich = Console(highlight=False, soft_wrap=True, width=100_000)
        return self._rich

    @property
    def width(self) -> int:
        return self.rich.width

    def print(self, *objects: Any, **options: Any) -> None:
        self.rich.print(*objects, **options)

    def line(self, *segments: Segment) -> None:
        """One line of text (never markup: `[red]` in a value stays as typed), styled in a terminal."""
        if self.is_terminal:
            from rich.text import Text

            self.rich.print(Text.assemble(*segments))
        else:
            self.file.write("".join(s if isinstance(s, str) else s[0] for s in segments) + "\n")

    def table(self, columns: tuple[str, ...], rows: list[list[Segment]], title: str | None = None,
              pad_edge: bool = True, overflow: str | None = None) -> None:
        """A table without borders: rich's in a terminal; piped, the same columns aligned with
        spaces (no trailing ones), a line per row."""
        if self.is_terminal:
            from rich.table import Table
            from rich.text import Text

            table = Table(title=title, title_justify="left", box=None, pad_edge=pad_edge)
            for column in columns:
                table.add_column(column, **({"overflow": overflow} if overflow else {}))
            for row in rows:
                table.add_row(*(Text(c) if isinstance(c, str) else Text(c[0], style=c[1]) for c in row))
            self.rich.print(table)
            return
        cells = [list(columns)] + [[c if isinstance(c, str) else c[0] for c in row] for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
        edge = " " if pad_edge else ""
        lines = [title] if title else []
        lines += [(edge + "  ".join(c.ljust(w) for c, w in zip(row, widths))).rstrip() for row in cells]
        self.file.write("".join(line + "\n" for line in lines))


out = _Console()
err = _Console(stderr=True)
_debug = False


def _repo():
    from gitexp.record.git import open_repo

    return open_repo(".")


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return "-"
    return str(value)


def _param(value: Any) -> str:
    """A param as the run got it: a float to the last digit (Hydra's `range(0.1,0.4,0.1)` gives
    0.30000000000000004, which is not the run of 0.3); a metric reads better rounded (`_fmt`)."""
    return repr(value) if isinstance(value, float) else _fmt(value)


def _age(iso: str | None) -> str:
    from gitexp.record.model import parse_iso

    stamp = parse_iso(iso)
    if stamp is None:
        return "-"
    seconds = max(0, time.time() - stamp)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


STATUS_STYLE = {"completed": "green", "failed": "red", "running": "cyan", "queued": "dim",
                "cancelled": "yellow", "lost": "magenta", "pruned": "blue"}


def _print_version(value: bool) -> None:
    if value:
        from gitexp import __version__

        sys.stdout.write(f"gitexp {__version__}\n")
        raise typer.Exit()


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
          version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print gitexp's version and exit.")) -> None:
    global _debug
    _debug = debug


# -- run ----------------------------------------------------------------------------


@app.command()
def run(
    sweep_file: Path = typer.Argument(..., help="The sweep file (runx, mlrunner or Hydra-style YAML)."),
    dry_run: bool = typer.Option(False, "-n", "--dry-run", help="Print one line per run: the exact command."),
    name: Optional[str] = typer.Option(None, "--name", help="Sweep name (default: the file's stem)."),
    jobs: int = typer.Option(1, "-j", "--jobs", min=1, help="Runs at once on CPU."),
    set_: List[str] = typer.Option([], "--set", help="Override or add a param: lr=0.1, 'bs=[32,64]'."),
    sweep: List[str] = typer.Option([], "--sweep", help="Hydra-style override: lr=0.1,0.01 or range(1,4)."),
    sample: Optional[int] = typer.Option(None, "--sample", help="Random search: run N sampled configs."),
    seed: int = typer.Option(0, "--seed", help="Seed for --sample."),
    only: List[str] = typer.Option([], "--only", help="Keep runs whose params match k=v."),
    exclude: List[str] = typer.Option([], "--exclude", help="Drop runs whose params match k=v."),
    resume: bool = typer.Option(False, "--resume", help="Rerun only the runs without a completed record."),
    yes: bool = typer.Option(False, "-y", "--yes", help="Allow sweeps larger than the safety limit."),
    live_interval: float = typer.Option(30.0, "--live-interval", help="Seconds between live record commits."),
    gpus: Optional[str] = typer.Option(None, "--gpus", metavar="0,2|all|none",
                                       help="GPUs to use (default: git config gitexp.gpus, else all visible)."),
    detach: bool = typer.Option(False, "-d", "--detach", help="Run the scheduler in the background and return."),
    backend: str = typer.Option("local", "--backend", help="Where runs execute: local, ray, or farm (Slurm / runx FARM)."),
    address: Optional[str] = typer.Option(None, "--address", metavar="HOST:PORT",
                                          help="--backend ray: the cluster (default: Ray's own lookup, else a local one)."),
    search: Optional[str] = typer.Option(None, "--search", metavar="SAMPLER",
                                         help="Adaptive search: tpe, gp, cmaes, random or grid (overrides SEARCH)."),
    trials: Optional[int] = typer.Option(None, "--trials", help="Trials in the search (more than done: extend it)."),
    objective: Optional[str] = typer.Option(None, "--objective", metavar="METRIC[:max|min]",
                                            help="The metric the search optimises."),
) -> None:
    """Expand a sweep, snapshot the code once, and run every job."""
    _warnings_to_stderr()
    from gitexp.run import detach as detacher
    from gitexp.run import launch as launcher
    from gitexp.run.progress import Progress

    git = _repo()
    options = launcher.LaunchOptions(
        name=name, jobs=jobs, sets=tuple(set_), sweep_overrides=tuple(sweep), sample=sample, seed=seed,
        only=tuple(only), exclude=tuple(exclude), allow_large=yes, resume=resume, live_interval=live_interval,
        gpus=gpus,
    )
    if search is not None or trials is not None or objective is not None:
        from gitexp.sweep.search import CommandLine

        options.search = CommandLine(search, trials, objective)
    loaded = launcher.load(sweep_file, options)  # bad input fails here, before a scheduler or cluster starts
    for warning in loaded.warnings:
        if warning.severity == "warning":  # e.g. a swept flag the script's argparse does not define
            err.line(f"gitexp: warning: {warning}")
    if dry_run:
        for line in launcher.dry_run(git, sweep_file, options, sweep=loaded):
            sys.stdout.write(line + "\n")
        return
    if detach and not os.environ.get(detacher.ENV_DETACHED):
        started = detacher.detach(git, sys.argv[1:])
        err.line(f"gitexp: {started.announcement}")
        err.line(f"gitexp: scheduler pid {started.pid} in the background; output in {started.log}\n"
                 "        watch: gitexp ps | gitexp logs -f RUN   stop: gitexp kill RUN|SWEEP")
        return
    prefix = jobs > 1
    progress = Progress(git.gitexp_dir, err)
    options.progress = progress

    def echo(run_name: str, line: bytes) -> None:
        if progress.live_mode:
            progress.output((f"[{run_name}] " if prefix else "") + line.decode(errors="replace"))
            return
        stream = sys.stdout.buffer
        stream.write((f"[{run_name}] ".encode() if prefix else b"") + line)
        stream.flush()

    def on_queued(runs) -> None:
        if loaded.search is not None:
            plan = loaded.search
            err.line("gitexp: search ", (runs[0].sweep, "bold"), f": {plan.sampler}, {plan.trials} trials, "
                     f"{plan.objective} ({plan.direction})")
        else:
            err.line(f"gitexp: {len(runs)} run(s) queued in sweep ", (runs[0].sweep, "bold"))
        detacher.announce_queued(runs)
        progress.queued(runs)

    options.echo = echo
    from gitexp.run.backends import open_backend

    options.backend = open_backend(backend, git, address)
    if options.backend:
        options.slots = options.backend.slots()
    try:
        result = launcher.launch(git, sweep_file, options, on_queued=on_queued, sweep=loaded)
    finally:
        progress.close()
        if options.backend:
            options.backend.close()
    if result.skipped:
        err.line(f"gitexp: --resume skipped {len(result.skipped)} completed run(s)")
    if result.search is not None:
        best = result.search["best"]
        err.line(f"gitexp: search {result.sweep}: {result.search['trials']}/{result.search['budget']} trials done"
                 + (f"; best {best['run']} = {_fmt(best['value'])} ({', '.join(f'{k}={_fmt(v)}' for k, v in best['params'].items())})"
                    if best else ""))
    if not result.outcomes:
        return
    rows = []
    for outcome in result.outcomes:
        metrics = ", ".join(f"{k}={_fmt(v)}" for k, v in list(outcome.metrics.items())[:4])
        rows.append([outcome.run.name, (outcome.status, STATUS_STYLE.get(outcome.status, "")),
                     _fmt(outcome.exit_code), f"{outcome.duration:.1f}s" if outcome.duration else "-", metrics])
    err.table(("run", "status", "exit", "time", "metrics"), rows, title=f"sweep {result.sweep}")
    for run in result.unrecorded:
        err.line(f"gitexp: {run}: not recorded, its ref was changed by someone else "
                 f"(its files are in .git/gitexp/runs/{run})")
    if result.unwritten:
        err.line(f"gitexp: error: {result.unwritten}")
    if result.interrupted:
        raise typer.Exit(130)
    if not result.ok:
        raise typer.Exit(1)


# -- live runs --------------------------------------------------------------------


@app.command()
def ps(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List queued and running runs of every sweep (runs of a dead scheduler become lost)."""
    from gitexp.index.live import live_runs
    from gitexp.run import control

    git = _repo()
    rows = control.ps(git, live_runs(git))
    if as_json:
        _print_json(rows)
        return
    if not rows:
        err.line("gitexp: nothing is running")
        return
    cells = []
    for r in rows:
        metrics = ", ".join(f"{k}={_fmt(v)}" for k, v in list(r["metrics"].items())[:4])
        cells.append([r["run"], (r["status"], STATUS_STYLE.get(r["status"], "")), r["placement"] or "-",
                      _fmt(r["pid"]), f"{r['elapsed']:.0f}s" if r["elapsed"] is not None else "-", metrics])
    out.table(("run", "status", "gpu", "pid", "elapsed", "metrics"), cells, pad_edge=False, overflow="fold")


@app.command()
def logs(
    run_: str = typer.Argument(..., metavar="RUN"),
    follow: bool = typer.Option(False, "-f", "--follow", help="Keep printing while the run runs."),
) -> None:
    """Print a run's output (stdout and stderr)."""
    from gitexp.run import control

    stream = sys.stdout.buffer
    for chunk in control.logs(_repo(), run_, follow=follow):
        stream.write(chunk)
        stream.flush()


@app.command()
def kill(
    targets: List[str] = typer.Argument(..., metavar="RUN|SWEEP...", help="Runs, or whole sweeps, to stop."),
    wait: float = typer.Option(30.0, "--wait", help="Seconds to wait for the records to say cancelled."),
) -> None:
    """Stop queued or running runs cleanly; they are recorded as cancelled."""
    from gitexp.run import control

    result = control.kill(_repo(), list(targets), wait=wait)
    for run_id, status in result.stopped.items():
        err.line(f"gitexp: {run_id} {status}")
    if result.still_live:
        err.line(f"gitexp: still stopping after {wait:.0f}s: {', '.join(result.still_live)}")
        raise typer.Exit(1)


@app.command("gpus")
def gpus_(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The GPUs gitexp sees (NVML): memory, utilisation, processes, and what sweeps reserved."""
    from gitexp.run import gpus

    rows = gpus.report(_repo())
    if as_json:
        _print_json(rows)
        return
    if not rows:
        err.line("gitexp: no GPU found (NVML); runs use CPU slots (--jobs N)")
        return
    cells = [[str(r["index"]), r["name"], f"{r['used_mib']}/{r['total_mib']} MiB",
              _fmt(r["utilization"]) + ("%" if r["utilization"] is not None else ""),
              str(len(r["processes"])), ", ".join(r["reserved_by"]) or "-"] for r in rows]
    out.table(("gpu", "name", "memory", "util", "procs", "reserved by"), cells, pad_edge=False, overflow="fold")


# -- read side ----------------------------------------------------------------------


@app.command("ls")
def ls(
    sweep: Optional[str] = typer.Argument(None, help="Only this sweep."),
    sweep_opt: Optional[str] = typer.Option(None, "--sweep", help="Only this sweep."),
    sort: Optional[str] = typer.Option(None, "--sort", help="Sort by a metric or param (numerically)."),
    ascending: bool = typer.Option(False, "--asc", help="Smallest first when sorting."),
    filter_: Optional[str] = typer.Option(None, "--filter", help="Substring of run id, status or key=value."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many runs."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    all_: bool = typer.Option(False, "--all", help="In a terminal: every run and column, through a pager."),
) -> None:
    """List runs, newest first: sweep, run, status, age, params that vary and metrics.

    In a terminal a long list shows its first and last runs and a footer (`--all` for every
    one); piped, every run is streamed as tab-separated lines.
    `gitexp ls SWEEP --sort acc` is runx's `sumx`: only the params that differ across the
    sweep, the summary metrics, epochs and time per epoch, sorted numerically.
    """
    from gitexp import index

    index.check_limit(limit)
    git = _repo()
    sweep = sweep or sweep_opt
    if sweep and sort and not as_json and not filter_:
        _print_result(index.sweep_table(git, sweep, sort=sort, descending=not ascending), limit, all_)
        return
    found = index.ls(git, sweep=sweep, sort=sort, descending=not ascending, filter=filter_, limit=limit)
    if as_json:
        found.close()
        _, rows = index.list_runs(git, sweep=sweep, sort=sort, descending=not ascending, filter=filter_,
                                  limit=limit)
        _print_json(rows)
        return
    if found.note:
        found.close()
        err.line(f"gitexp: {found.note}")
        return
    _print_results(found, "table", all_, first=("sweep", "run", "status", "age"))


@app.command()
def query(
    sql: str = typer.Argument(..., help='SQL; a statement with no FROM reads `runs`: "select * order by acc desc".'),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv, json or markdown."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many rows."),
    timeout: float = typer.Option(60.0, "--timeout", help="Stop the query after this many seconds."),
    all_: bool = typer.Option(False, "--all", help="In a terminal: every row and column, through a pager."),
) -> None:
    """SQL over every run (DuckDB, read-only): tables runs, series, params, metrics.

    In a terminal a big result shows the columns that fit (run, status, varying params,
    metrics first) and its first and last rows, like DuckDB's shell; piped, `table` streams
    tab-separated lines and `csv` streams CSV.
    """
    from gitexp import index

    if fmt not in ("table", "csv", "json", "markdown"):
        raise GitexpError(f"--format {fmt!r}: expected table, csv, json or markdown")
    _print_results(index.results(_repo(), sql, limit=limit, timeout=timeout), fmt, all_)


def _print_results(found: Any, fmt: str, all_: bool, first: tuple[str, ...] = ("run", "status")) -> None:
    """A terminal gets a screenful (or, with --all, every row through a pager); a pipe gets a stream."""
    from gitexp import index

    with found:
        if fmt == "table" and out.is_terminal and not all_:
            out.print(index.table(found.screen(), out.width, first, style=_status_style))
        elif fmt == "table" and out.is_terminal:
            whole = found.fetch()
            _page(index.aligned(whole.columns, whole.rows))
        elif fmt in ("table", "csv"):
            columns, types, batches = found.stream()
            index.write_delimited(columns, types, batches, sys.stdout, "\t" if fmt == "table" else ",")
        else:
            sys.stdout.write(index.render(found.fetch(), fmt).rstrip("\n") + "\n")


def _print_result(result: Any, limit: int | None, all_: bool = False) -> None:
    """A result already in memory (`ls SWEEP --sort`): a screenful in a terminal, else tab-separated."""
    from gitexp import index

    if limit is not None and len(result.rows) > limit:
        from dataclasses import replace

        result = replace(result, rows=result.rows[:limit], truncated=True)
    if out.is_terminal and all_:
        _page(index.aligned(result.columns, result.rows))
    elif out.is_terminal:
        out.print(index.table(result, out.width, style=_status_style))
    else:
        index.write_delimited(result.columns, result.types, [result.rows], sys.stdout, "\t")


def _status_style(column: str, cell: str) -> str:
    return STATUS_STYLE.get(cell.split(" ")[0], "") if column == "status" else ""


def _page(lines: Any) -> None:
    """Through $PAGER (default `less -SR`: long lines scroll sideways), like `git log`."""
    import pydoc

    os.environ.setdefault("LESS", "SR")
    pydoc.pager("".join(lines))


@app.command()
def show(
    run_: str = typer.Argument(..., metavar="RUN", help="sweep/run, a bare run name, or a commit prefix."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    stat: bool = typer.Option(False, "--stat", help="Only a diffstat of the code changes."),
) -> None:
    """What ran: command, params, metrics, status, timings, base commit and code changes."""
    from gitexp import inspect

    git = _repo()
    data = inspect.show(git, run_)
    if as_json:
        _print_json(data)
        return
    head: list[tuple[str, Segment]] = [
        ("run", data["run"]),
        ("status", (data["status"] + (f" (exit {data['exit_code']})" if data["exit_code"] not in (None, 0) else ""),
                    STATUS_STYLE.get(data["status"], ""))),
        ("command", data["command"] or "-"),
        ("created", f"{data['created']}  ({_age(data['created'])})"),
    ]
    if data["tags"]:
        head.append(("tags", _tags_text(data["tags"])))
    if data["started"]:
        head.append(("started", data["started"]))
    if data["ended"]:
        head.append(("ended", f"{data['ended']}  ({_fmt(data['duration'])} s)"))
    head += [
        ("host", f"{data['host'] or '-'}" + (f"  gpus {data['gpus']}" if data["gpus"] else "")),
        *([("logdir", data["logdir"])] if data["logdir"] else []),
        ("commit", data["commit"]),
        ("snapshot", data["snapshot"]),
        ("base", f"{data['base_commit'] or '(no commit yet)'}" + (f" on {data['branch']}" if data["branch"] else "")),
    ]
    width = max(len(label) for label, _ in head)
    for label, value in head:  # plain lines, not a grid: a grid pads every line to its widest
        out.line((label.ljust(width), "bold"), "  ", value)
    for title, mapping in (("params", data["params"]), ("metrics", data["metrics"])):
        out.line()
        out.line((title, "bold"))
        if not mapping:
            out.line("  -")
        for key, value in mapping.items():
            if title == "params" and data["logdir"] and isinstance(value, str) and value.split("/")[0] == "LOGDIR":
                value = data["logdir"] + value[len("LOGDIR"):]  # the placeholder as the command got it
            out.line(f"  {key} = {(_param if title == 'params' else _fmt)(value)}")  # values are data: `[red]` stays text
    if data["artifacts"]:
        out.line()
        out.line(("artifacts", "bold"))
        for item in data["artifacts"]:
            out.line(f"  {item.get('path')}  {item.get('size')} B  sha256 {str(item.get('sha256'))[:12]}")
    if data["excluded_files"]:
        out.line()
        out.line(("left out of the snapshot", "bold"), " (the run saw them in the workspace)")
        for item in data["excluded_files"]:
            why = "run output" if item.get("reason") == "output" else "too large"
            files = f", {item['files']} files" if item.get("files", 1) > 1 else ""
            out.line(f"  {item['path']}  {item.get('size', 0)} B{files}  ({why})")
    out.line()
    out.line(("code changes against base", "bold"), f" ({len(data['files'])} file(s))")
    if data["files"]:  # no file differs: no `git diff` to run
        _print_patch(inspect.patch(git, data["base_commit"], f"{data['snapshot']}^{{tree}}", stat=stat))
    else:
        _print_patch("")


def _tags_text(tags: dict[str, Any]) -> str:
    return " ".join(name if value is True else f"{name}={_fmt(value)}" for name, value in tags.items())


@app.command()
def tag(
    run_: str = typer.Argument(..., metavar="RUN"),
    tags_: List[str] = typer.Argument(None, metavar="NAME[=VALUE]...", help="Tags to set (a bare name is true)."),
    remove: bool = typer.Option(False, "--rm", help="Remove the named tags instead."),
) -> None:
    """Tag or star a run (`gitexp tag RUN star note=baseline`); the tags go into its record."""
    from gitexp.record import tags

    words = list(tags_ or [])
    if remove:
        run_id, now = tags.set_tags(_repo(), run_, remove=[tags.check_tag(name) for name in words])
    elif words:
        run_id, now = tags.set_tags(_repo(), run_, tags.parse_tags(words))
    else:
        from gitexp import inspect

        run_id, now = run_, inspect.show(_repo(), run_)["tags"]
    out.line(f"{run_id}: {_tags_text(now) or '(no tags)'}")


def _print_patch(text: str) -> None:
    if not text.strip():
        out.line("  (none)")
        return
    if out.is_terminal:
        from rich.syntax import Syntax

        out.print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def diff(
    runs: List[str] = typer.Argument(..., metavar="RUN_A RUN_B [RUN...]", help="Two or more runs."),
    stat: bool = typer.Option(False, "--stat", help="Only a diffstat of the code."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Params and metrics side by side (changes highlighted), then the code diff.

    With more than two runs, every run's code is compared with the first one's.
    """
    from gitexp import inspect

    if len(runs) < 2:
        raise GitexpError("diff takes two or more runs", hint="gitexp diff RUN_A RUN_B [RUN...]")
    git = _repo()
    if len(runs) == 2 and as_json:  # the two-run shape the language server shares
        _print_json(inspect.diff(git, runs[0], runs[1], with_patch=True))
        return
    data = inspect.compare(git, list(runs))
    if as_json:
        _print_json(data)
        return
    for title in ("params", "metrics"):
        rows = [[(row["key"], "bold yellow" if row["changed"] else "dim"), *map(_param if title == "params" else _fmt,
                                                                               row["values"])]
                for row in data[title]] or [["-"] * (1 + len(data["runs"]))]
        out.table(("key", *data["runs"]), rows, title=title)
    for code in data["code"]:
        against = f" of {code['run']} against {code['against']}" if len(data["runs"]) > 2 else ""
        out.line()
        out.line(("code", "bold"), f"{against} ({len(code['files'])} file(s) differ)")
        if code["same"]:
            out.line("  same snapshot")
            continue
        _print_patch(inspect.patch(git, f"{code['against_snapshot']}^{{tree}}", f"{code['snapshot']}^{{tree}}",
                                   stat=stat))


# -- managing -----------------------------------------------------------------------


@app.command()
def rm(
    runs: List[str] = typer.Argument(..., metavar="RUN|SWEEP...", help="Runs (or whole sweeps) to delete."),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation."),
) -> None:
    """Delete run refs (their objects go with `gitexp gc`)."""
    from gitexp import manage
    from gitexp.record import view

    git = _repo()
    targets = view.resolve_many(git, runs)
    if not yes:
        names = ", ".join(r.id for r, _ in targets[:10]) + (" ..." if len(targets) > 10 else "")
        if not sys.stdin.isatty():
            raise GitexpError(f"refusing to delete {len(targets)} run(s) without confirmation", hint="pass -y")
        typer.confirm(f"Delete {len(targets)} run(s): {names}?", abort=True)
    removed = manage.rm(git, targets)
    err.line(f"gitexp: deleted {len(removed)} run(s); `gitexp gc` frees their space")


@app.command()
def gc(
    no_prune: bool = typer.Option(False, "--no-prune", help="Keep git objects; only remove run folders."),
    now: bool = typer.Option(False, "--now", help="Prune unreachable objects now, not after git's 2-week grace."),
) -> None:
    """Remove folders and artifacts of deleted runs and prune unreachable objects."""
    from gitexp import manage

    result = manage.gc(_repo(), prune=not no_prune, now=now)
    extra = f", artifacts of {len(result.artifacts_removed)} run(s)" if result.artifacts_removed else ""
    err.line(f"gitexp: removed {len(result.folders_removed)} run folder(s){extra}, {result.bytes_freed / 1e6:.1f} MB")


@app.command("tensorboard")
def tensorboard_(
    runs: Optional[List[str]] = typer.Argument(None, metavar="[RUN|SWEEP]...", help="Runs or sweeps (default: all)."),
    port: Optional[int] = typer.Option(None, "--port", help="Port on 127.0.0.1 (default: first free from 6006)."),
    export: Optional[Path] = typer.Option(None, "--export", help="Only write the event files into this folder."),
) -> None:
    """Start TensorBoard on 127.0.0.1 over runs: their scalars, and HParams to compare them."""
    import shutil
    import tempfile

    from gitexp.track import tensorboard as tb

    git = _repo()
    chosen = tb.select(git, list(runs or []))
    if not chosen:
        raise GitexpError("no runs to show", hint="start one with `gitexp run SWEEP.yml`")
    if export is not None:
        ids = tb.materialize(git, chosen, export)
        err.line(f"gitexp: wrote event files of {len(ids)} run(s) to {export}")
        return
    logdir = Path(tempfile.mkdtemp(prefix="gitexp-tensorboard-"))
    try:
        ids = tb.materialize(git, chosen, logdir)
        err.line(f"gitexp: {len(ids)} run(s) in {logdir}; Ctrl-C stops TensorBoard")
        code = tb.serve(logdir, port, echo=lambda line: err.line(line))
    finally:
        shutil.rmtree(logdir, ignore_errors=True)
    if code not in (0, 130):
        raise typer.Exit(code)


@app.command()
def branch(
    run_: str = typer.Argument(..., metavar="RUN"),
    name: str = typer.Argument(..., help="The new branch's name."),
) -> None:
    """Create a normal branch at a run's code snapshot."""
    from gitexp import manage

    run, snapshot = manage.branch(_repo(), run_, name)
    err.line(f"gitexp: branch {name} -> {snapshot[:12]} (code of {run})")


@app.command()
def apply(run_: str = typer.Argument(..., metavar="RUN")) -> None:
    """Restore a run's code into the working tree (refuses to overwrite uncommitted work)."""
    from gitexp import manage

    run, changed = manage.apply(_repo(), run_)
    err.line(f"gitexp: working tree now has the code of {run} ({len(changed)} file(s) differ from HEAD)")


@app.command()
def push(
    remote: Optional[str] = typer.Argument(None, help="A git remote name or URL (default: origin)."),
    runs: List[str] = typer.Argument(None, metavar="[RUN|SWEEP...]", help="What to push (default: every run)."),
) -> None:
    """Share runs: push their refs (and the objects they need) to a git remote."""
    from gitexp.record import remote as remotes

    result = remotes.push(_repo(), remote, list(runs or []))
    err.line(f"gitexp: pushed to {result.remote}: {len(result.created)} new, {len(result.updated)} updated, "
             f"{len(result.unchanged)} already there")
    for run_id, why in result.rejected.items():
        err.line(f"gitexp: {run_id}: refused by {result.remote} ({why}): it holds a different run of that name; "
                 f"`gitexp pull {result.remote}` keeps both")
    if result.rejected:
        raise typer.Exit(1)


@app.command()
def pull(remote: Optional[str] = typer.Argument(None, help="A git remote name or URL (default: origin).")) -> None:
    """Bring runs from a git remote; a run never overwrites a different local run of the same name."""
    from gitexp.record import remote as remotes

    result = remotes.pull(_repo(), remote)
    err.line(f"gitexp: pulled from {result.remote}: {len(result.created)} new, {len(result.updated)} updated, "
             f"{len(result.unchanged)} unchanged, {len(result.kept_local)} newer here")
    for theirs, local in result.renamed.items():
        err.line(f"gitexp: {theirs} differs from the local run of that name; theirs kept as {local}")


@app.command()
def lsp(
    tcp: Optional[str] = typer.Option(None, "--tcp", metavar="HOST:PORT",
                                      help="Serve on a loopback TCP port instead of stdio (for debugging)."),
    stdio: bool = typer.Option(True, "--stdio", hidden=True, help="Serve on stdio (the default; accepted "
                               "because language clients pass it)."),
) -> None:
    """Start the language server the editor extension talks to (stdio)."""
    import gitexp_lsp

    gitexp_lsp.main(tcp)


def _only(command: str | None) -> None:
    """Keep only the command about to run: Typer turns every registered command into a click
    command on each call (~20 ms for all of them, a tenth of a `gitexp show`). Parsing, help
    and errors of that command are Typer's as before; `gitexp --help` still lists them all."""
    if not command or "_GITEXP_COMPLETE" in os.environ:
        return
    chosen = [c for c in app.registered_commands
              if (c.name or (c.callback.__name__.replace("_", "-") if c.callback else None)) == command]
    if chosen:
        app.registered_commands[:] = chosen


def _warnings_to_stderr() -> None:
    """The scheduler's threads (record writer, job output, METRICS) warn through `logging`; set
    up only where they run: reading commands never import it."""
    import logging

    logging.basicConfig(format="gitexp: %(message)s", level=logging.WARNING)


def main() -> None:
    _only(sys.argv[1] if len(sys.argv) > 1 else None)
    try:
        code = app(standalone_mode=False, prog_name="gitexp")  # completion reads _GITEXP_COMPLETE
    except GitexpError as error:
        if _debug:
            raise
        err.line(f"gitexp: error: {error}")
        sys.exit(error.exit_code)
    except typer.Abort:
        err.line("gitexp: aborted")
        sys.exit(1)
    except KeyboardInterrupt:
        err.line("gitexp: interrupted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as error:  # click's usage errors
        try:  # typer >= 0.2x raises its vendored click's exceptions, not click's
            from typer._click.exceptions import ClickException
        except ImportError:
            from click import ClickException

        if isinstance(error, ClickException):
            error.show()
            sys.exit(error.exit_code)
        raise
    if code == 130:  # Ctrl-C (typer turns KeyboardInterrupt into exit code 130)
        err.line("gitexp: interrupted")
    sys.exit(code if isinstance(code, int) else 0)
