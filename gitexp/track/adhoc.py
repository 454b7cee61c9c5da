"""Standalone runs: `python train.py --lr 0.1` calling `gitexp.init()` (or `gitexp.log`) is recorded too.

No `gitexp run` is involved, so this process plays the scheduler's part for itself: it
snapshots the workspace, creates `refs/experiments/adhoc/<script>-<time>` as `running` with
its argv parsed into params, tees its own stdout/stderr into output.log, commits the record
every live interval, and finalises it at exit (`completed`, or `failed` on an uncaught
exception, `cancelled` on SIGTERM). If the process is killed outright the record names this
process as its scheduler, so the next `gitexp ls` marks it `lost` like any other run.
"""

from __future__ import annotations

import atexit
import os
import shlex
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from gitexp.record import model as record

SWEEP = "adhoc"
ENV_LIVE_INTERVAL = "GITEXP_LIVE_INTERVAL"


def _typed(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_argv(argv: list[str] | None = None) -> dict[str, Any]:
    """`--lr 0.1 --amp --bs=32 opt=adam` -> {"lr": 0.1, "amp": True, "bs": 32, "opt": "adam"}.

    Values are typed like YAML scalars (int, float, bool, else string); other positional
    words are kept in order under "args" so nothing the script saw is lost.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    params: dict[str, Any] = {}
    loose: list[Any] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("--") and len(word) > 2:
            key, eq, value = word[2:].partition("=")
            key = key.replace("-", "_")
            if eq:
                params[key] = _typed(value)
            elif i + 1 < len(words) and not words[i + 1].startswith("--"):
                params[key] = _typed(words[i + 1])
                i += 1
            else:
                params[key] = True
        elif "=" in word and word.split("=", 1)[0].lstrip("+~").replace(".", "").isidentifier():
            key, _, value = word.partition("=")
            params[key.lstrip("+")] = _typed(value)
        else:
            loose.append(_typed(word))
        i += 1
    if loose:
        params["args"] = loose
    return params


class _Tee:
    """A text stream that also copies what is written into the run's output.log."""

    def __init__(self, stream: Any, sink: Any):
        self._stream = stream
        self._sink = sink

    def write(self, text: str) -> int:
        self._sink.write(text.encode(errors="replace"))
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class AdhocRun:
    """The record of this very process, kept up to date until it exits."""

    def __init__(self, git: Any, run: Any, info: dict[str, Any], commit: str, output: Any,
                 flush: Callable[[], None]):
        from gitexp.track import tensorboard

        self.git, self.run, self.info, self.commit, self.output = git, run, info, commit, output
        self.flush = flush  # the logging API's: buffered points must be on disk before each commit
        self.files = record.RunFiles.for_run(git.gitexp_dir, run)
        self.ingest = tensorboard.Ingest(self.files.dir)
        self.failure: str | None = None
        self.finished = False
        self._lock = threading.Lock()

    def commit_now(self, what: str) -> None:
        from gitexp.record import recorder
        from gitexp.track import artifacts

        self.flush()
        self.ingest.poll()
        self.info["artifacts"] = artifacts.read_manifest(self.files.dir)
        self.info["output"] = {"cap": self.output.cap, "bytes": self.output.total, "truncated": self.output.truncated}
        self.commit = recorder.commit_run(self.git, self.run, self.info, self.commit, f"gitexp: {self.run} {what}",
                                          output=self.output.content())

    def live_loop(self, interval: float) -> None:
        while True:
            time.sleep(interval)
            with self._lock:
                if self.finished:
                    return
                self.commit_now("progress")

    def finish(self, reason: str | None = None) -> None:
        with self._lock:
            if self.finished:
                return
            self.finished = True
            ended = time.time()
            status = "cancelled" if reason else ("failed" if self.failure else "completed")
            self.info.update(status=status, exit_code=1 if self.failure else (None if reason else 0),
                             ended=record.now_iso(),
                             duration=round(ended - (record.parse_iso(self.info["started"]) or ended), 3))
            if self.failure or reason:
                self.info["failure"] = self.failure or reason
            self.commit_now(status)


_current: AdhocRun | None = None


def start(flush: Callable[[], None], params: dict[str, Any] | None = None) -> AdhocRun:
    """Record this process as a run of sweep `adhoc`; its folder (LOGDIR) is `.files.dir`.

    `flush` writes the logging API's buffered points; the caller also runs `.finish` when the
    process is stopped by a signal (exit and uncaught exceptions are handled here).
    """
    global _current
    from gitexp.errors import RefConflictError
    from gitexp.record import environment, liveness, recorder
    from gitexp.record.git import open_repo
    from gitexp.record.output import CappedOutput
    from gitexp.record.refs import RunRef, sanitize
    from gitexp.record.snapshot import take_snapshot

    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] not in ("", "-c", "-") else None
    where = script.resolve().parent if script and script.is_file() else Path.cwd()
    git = open_repo(where)
    params = parse_argv() if params is None else dict(params)
    snapshot = take_snapshot(git, f"gitexp snapshot for an adhoc run of {script.name if script else 'python'}")
    stem = sanitize(script.stem if script else "python")
    base = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        cwd = str(Path.cwd().resolve().relative_to(git.root.resolve()))
    except ValueError:
        cwd = "."
    for n in range(1, 50):
        run = RunRef(SWEEP, base if n == 1 else f"{base}-{n}")
        files = record.RunFiles.for_run(git.gitexp_dir, run)
        info = record.new_info(
            run, snapshot, [shlex.join(["python", *sys.argv])], params, cwd=cwd, logdir=files.dir,
            environment=environment.capture(params), user=environment.user(), scheduler=liveness.owner(),
            status="running")
        info.update(started=record.now_iso(), attempt_id=uuid.uuid4().hex, pid=os.getpid(), code_dir=str(where),
                    backend="local", where={"host": record.hostname()})
        files.create()
        for stale in (files.series, files.summary_overrides):
            stale.unlink(missing_ok=True)
        output = CappedOutput(files.output)
        try:
            commit = recorder.commit_run(git, run, info, None, f"gitexp: {run} started (adhoc)", output=b"")
            break
        except RefConflictError:
            output.close()
            continue
    else:
        raise RefConflictError(f"could not reserve an adhoc run name starting with {base}")
    os.environ.update({record.ENV_RUN_DIR: str(files.dir), record.ENV_RUN: run.id,
                       record.ENV_PARAMS: _json(params)})
    os.environ.setdefault("LOGDIR", str(files.dir))
    _current = AdhocRun(git, run, info, commit, output, flush)
    sys.stdout = _Tee(sys.stdout, output)
    sys.stderr = _Tee(sys.stderr, output)
    _watch_exceptions(_current)
    atexit.register(_current.finish)
    interval = float(os.environ.get(ENV_LIVE_INTERVAL, "30"))
    threading.Thread(target=_current.live_loop, args=(interval,), name="gitexp-live", daemon=True).start()
    return _current


def _json(data: Any) -> str:
    import json

    return json.dumps(data, default=str)


def _watch_exceptions(run: AdhocRun) -> None:
    """An uncaught exception marks the run failed (atexit then finalises it)."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        run.failure = f"{kind.__name__}: {value}"
        previous(kind, value, tb)

    sys.excepthook = hook
