"""The in-script logging API: `gitexp.log`, `gitexp.summary`, `gitexp.config`, `gitexp.save_checkpoint`.

A run's folder is found through $GITEXP_RUN_DIR (set by `gitexp run`); without it, the first
`init()` or `log()` turns the script into a standalone run of sweep `adhoc` (see adhoc.py).

`log` must be cheap enough to call every step, so it only appends a tuple to a list under a
lock; serialising and writing happen in `flush`, which a daemon thread calls every second,
and which also runs at exit and on SIGTERM. Points are appended to `metrics.jsonl` with one
`O_APPEND` write per flush, so lines from the scheduler (stdout regexes, TensorBoard
ingestion) interleave with ours whole, never torn.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, Mapping

from gitexp.errors import GitexpError
from gitexp.record import model as record
from gitexp.track.points import append_lines, point_line

ENV_FLUSH = "GITEXP_FLUSH_SECONDS"  # set by a search with PRUNE: its pruner wants points sooner
FLUSH_EVERY = 1.0  # seconds between background flushes: live readers lag at most this much


def _flush_every() -> float:
    try:
        return min(FLUSH_EVERY, max(0.01, float(os.environ.get(ENV_FLUSH, FLUSH_EVERY))))
    except ValueError:
        return FLUSH_EVERY


_lock = threading.RLock()  # re-entrant: a SIGTERM handler may flush while `log` holds it
_flushing = threading.RLock()
_buffer: list[tuple[int, str, Any, float]] = []
_steps: dict[str, int] = {}
_run_dir: Path | None = None
_resolved = False
_flusher: threading.Thread | None = None
_params: dict[str, Any] | None = None


def run_dir() -> Path | None:
    """The current run's folder (LOGDIR), starting a standalone run on first use; None if disabled."""
    if not _resolved:
        _resolve(explicit=False)
    return _run_dir


def _resolve(explicit: bool) -> None:
    global _run_dir, _resolved
    with _lock:
        if _resolved:
            return
        env = os.environ.get(record.ENV_RUN_DIR)
        if env:
            _run_dir = Path(env)
        elif explicit or os.environ.get("GITEXP_ADHOC", "1") != "0":
            from gitexp.track import adhoc

            try:
                standalone = adhoc.start(flush=flush)
                _on_exit.append(standalone.finish)
                _run_dir = standalone.files.dir
            except GitexpError as error:
                if explicit:
                    raise
                warnings.warn(f"gitexp: metrics are not recorded: {error}", stacklevel=4)
        _resolved = True
    if _run_dir is not None:
        (_run_dir / record.RECORD_DIR).mkdir(parents=True, exist_ok=True)
        _install_signal_flush()


def init() -> Path:
    """Attach to the current `gitexp run`, or record this script as a standalone `adhoc` run."""
    _resolve(explicit=True)
    if _run_dir is None:
        raise GitexpError("gitexp.init: recording is off for this process (GITEXP_ADHOC=0)")
    return _run_dir


def log(metrics: Mapping[str, Any], step: int | None = None) -> None:
    """Append one point per key; the last value of each key becomes the run's summary."""
    if not _resolved:
        _resolve(explicit=False)
    if _run_dir is None:
        return
    now = time.time()
    with _lock:
        for key, value in metrics.items():
            if type(key) is not str:
                key = str(key)
            if type(value) is not float and type(value) is not int and hasattr(value, "item"):
                value = value.item()  # numpy / torch scalars: read now, they may change in place
            if step is None:
                at = _steps.get(key, -1) + 1
            else:
                at = step
            _steps[key] = at
            _buffer.append((at, key, value, now))
    if _flusher is None:
        _start_flusher()


def flush() -> None:
    """Write buffered points to the run's metrics.jsonl (called every second, at exit and on SIGTERM).

    `_flushing` is held from taking the points to writing them: a flush at exit waits for the
    background one that took them, instead of finding the buffer empty while they are still in
    its hands (the interpreter would then end before they reach the file). Re-entrant, so a
    signal handler flushing in the middle of a flush does not deadlock."""
    with _flushing:
        with _lock:
            if not _buffer or _run_dir is None:
                return
            points = _buffer[:]
            _buffer.clear()
        lines = [point_line(step, key, value, when) for step, key, value, when in points]
        series = _run_dir / record.RECORD_DIR / record.SERIES_JSONL
        try:
            try:
                append_lines(series, lines)
            except FileNotFoundError:  # the run folder was removed under us: put it back, keep logging
                series.parent.mkdir(parents=True, exist_ok=True)
                append_lines(series, lines)
        except OSError:
            with _lock:  # not written: keep them, in order, for the next try
                _buffer[:0] = points
            raise


def _start_flusher() -> None:
    global _flusher
    with _lock:
        if _flusher is not None:
            return
        _flusher = threading.Thread(target=_flush_loop, name="gitexp-flush", daemon=True)
    _flusher.start()


def _flush_loop() -> None:
    warned = False
    while True:
        time.sleep(_flush_every())
        try:
            flush()
        except OSError as error:  # disk full, folder removed: keep the points, say it once, retry
            if not warned:
                warnings.warn(f"gitexp: could not write metrics (will retry): {error}")
                warned = True


def _install_signal_flush() -> None:
    """On SIGTERM (how schedulers stop jobs) or SIGHUP flush first, then die the way the signal asks."""
    if threading.current_thread() is not threading.main_thread():
        return
    def on_term(signum: int, frame: Any) -> None:
        for hook in _on_exit:
            hook(f"killed by signal {signum}")
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal closed
        if signal.getsignal(sig) is signal.SIG_DFL:  # else the script handles it; atexit still flushes
            signal.signal(sig, on_term)


_on_exit: list[Any] = [lambda reason: flush()]  # a standalone run adds its finaliser here


def _drop_buffer_in_child() -> None:
    """A forked worker must not write the parent's buffered points a second time, and must not
    inherit a lock the parent's flusher thread may have held at the fork."""
    global _flusher, _lock, _flushing
    _lock = threading.RLock()
    _flushing = threading.RLock()
    _buffer.clear()
    _flusher = None


os.register_at_fork(after_in_child=_drop_buffer_in_child)
atexit.register(flush)


# -- summary -------------------------------------------------------------------


class Summary:
    """`gitexp.summary["best_acc"] = 0.93`: overrides the last-value summary of a key."""

    def __init__(self) -> None:
        self._values: dict[str, Any] | None = None
        self._write_lock = threading.Lock()

    def _path(self) -> Path | None:
        where = run_dir()
        return where / record.RECORD_DIR / record.SUMMARY_OVERRIDES if where else None

    def _load(self) -> dict[str, Any]:
        if self._values is None:
            path = self._path()
            self._values = dict(record.read_json(path, {}) or {}) if path else {}
        return self._values

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def update(self, values: Mapping[str, Any]) -> None:
        with self._write_lock:
            current = self._load()
            for key, value in values.items():
                current[str(key)] = record.clean_number(value.item() if hasattr(value, "item") else value)
            path = self._path()
            if path:
                record.write_json_atomic(path, current)

    def __getitem__(self, key: str) -> Any:
        current = self._load()
        if key in current:
            return current[key]
        flush()
        where = run_dir()
        last = record.summarize(record.read_series(where / record.RECORD_DIR / record.SERIES_JSONL)) if where else {}
        if key in last:
            return last[key]
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return self.get(str(key), _MISSING) is not _MISSING

    def __repr__(self) -> str:
        return f"gitexp.summary({self._load()!r})"


_MISSING = object()
summary = Summary()


# -- config ---------------------------------------------------------------------


class Config(Mapping[str, Any]):
    """The run's resolved params, read-only, with attribute access (`config.lr`)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]):
        object.__setattr__(self, "_data", {k: Config(v) if isinstance(v, Mapping) else v for k, v in data.items()})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"gitexp.config has no param {name!r} (params: {', '.join(self._data) or 'none'})") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise GitexpError(f"gitexp.config is read-only: cannot set {name!r}")

    def __repr__(self) -> str:
        return f"gitexp.config({self._data!r})"


def params() -> dict[str, Any]:
    """$GITEXP_PARAMS inside `gitexp run`, else the script's argv parsed as a standalone run would."""
    global _params
    if _params is None:
        text = os.environ.get(record.ENV_PARAMS)
        if text:
            try:
                _params = json.loads(text)
            except ValueError:
                raise GitexpError(f"${record.ENV_PARAMS} is not valid JSON: {text[:60]!r}") from None
        else:
            from gitexp.track import adhoc

            _params = adhoc.parse_argv()
    return _params


def config() -> Config:
    return Config(params())


# -- checkpoints ------------------------------------------------------------------

_best: dict[str, float] = {}


def save_checkpoint(state: Any, metric: float | None = None, higher_better: bool = True,
                    name: str = "checkpoint") -> bool:
    """Write `<name>_last.pt` and, when `metric` beats the best so far, `<name>_best.pt`.

    Files go to the run folder (or $GITEXP_ARTIFACT_ROOT/<sweep>/<run>); the record keeps
    their path, size and sha256, never the bytes. Returns True when this one is the best.
    """
    from gitexp.track import artifacts

    where = init()
    folder = artifacts.artifact_dir(where, os.environ.get(record.ENV_RUN, ""))
    last = artifacts.save_object(state, folder / f"{name}_last.pt")
    artifacts.register(where, last, kind="checkpoint", role="last", metric=metric)
    if metric is None:
        return False
    best_so_far = _best.get(name)
    if best_so_far is None:
        previous = artifacts.find(where, folder / f"{name}_best.pt")
        best_so_far = previous.get("metric") if previous else None
    better = best_so_far is None or (metric > best_so_far if higher_better else metric < best_so_far)
    if better:
        best = artifacts.copy(last, folder / f"{name}_best.pt")
        artifacts.register(where, best, kind="checkpoint", role="best", metric=metric)
        _best[name] = metric
    return better
