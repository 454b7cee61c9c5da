"""Read-side verbs: what a run was (`show`), how two runs differ (`diff`), every run (`ls`).

They return plain data (dicts ready for `--json` and the language server); the CLI renders.
"""

from __future__ import annotations

import math
import re
from array import array
from pathlib import Path
from typing import Any

from gitexp.record import model as record, store
from gitexp.record.git import Git
from gitexp.record.view import load_one

_EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def name_status(git: Git, old: str | None, new: str) -> list[dict[str, str]]:
    out = git.run("diff-tree", "-r", "-z", "--no-renames", "--name-status", old or _EMPTY_TREE, new,
                  "--", ".", ":(exclude).gitexp")
    parts = [p for p in out.split("\0") if p]
    return [{"path": parts[i + 1], "status": parts[i]} for i in range(0, len(parts) - 1, 2)]


def patch(git: Git, old: str | None, new: str, stat: bool = False, paths: list[str] | None = None) -> str:
    args = ["diff", "--no-color", "--no-ext-diff", "--stat" if stat else "-p", old or _EMPTY_TREE, new,
            "--", *(paths or ["."]), ":(exclude).gitexp"]
    return git.run(*args)


def changes(git: Git, old: str | None, new: str) -> list[dict[str, str]]:
    """The files that differ between two trees, each with its patch, from one `git diff-tree`
    (its raw entries, NUL-separated, then the patch): one process where name_status + patch
    took two. Sections are paired with files in order; when they cannot be paired safely (a
    patch line that looks like a header), each file gets its own `git diff`."""
    out = git.run("diff-tree", "-r", "-z", "--no-renames", "--patch-with-raw", old or _EMPTY_TREE, new,
                  "--", ".", ":(exclude).gitexp")
    raw, _, text = out.partition("\0\0")
    parts = [p for p in raw.split("\0") if p]
    files = [{"path": parts[i + 1], "status": parts[i].split()[-1]} for i in range(0, len(parts) - 1, 2)]
    sections = ["diff --git " + part for part in text.split("\ndiff --git ")]
    if text.startswith("diff --git "):
        sections[0] = sections[0][len("diff --git "):]
    if len(sections) == len(files) and text:
        for entry, section in zip(files, sections):
            entry["patch"] = section if section.endswith("\n") else section + "\n"
    else:
        for entry in files:
            entry["patch"] = patch(git, old, new, paths=[entry["path"]])
    return files


def _tree(commit: str) -> str:
    return f"{commit}^{{tree}}"


_EXCEPTION = re.compile(r"^\s*([A-Za-z_][\w.]*(Error|Exception|Interrupt)\b.*)$")
_ERROR = re.compile(r"^.*\b(error|fatal|not found|no such file)\b.*$", re.IGNORECASE)


def error_line(output: str) -> str | None:
    """Why a run failed, in one line: the first `SomethingError: ...` line of its output
    (Python's exception), else the first line that mentions an error."""
    lines = output.splitlines()
    for pattern in (_EXCEPTION, _ERROR):
        for line in lines:
            if pattern.match(line):
                return line.strip()[:300]
    return None


def _failure(git: Git, run: store.Run) -> str | None:
    if run.status != "failed":
        return None
    if run.live:
        path = record.RunFiles.for_run(git.gitexp_dir, run.ref).output
        data = path.read_bytes() if path.exists() else b""
    else:
        data = git.show_file(run.commit, f"{record.RECORD_DIR}/{record.OUTPUT_LOG}") or b""
    return error_line(data[-65536:].decode(errors="replace"))


def describe(git: Git, run: store.Run) -> dict[str, Any]:
    info = run.info
    snapshot = run.snapshot
    return {
        "run": run.id, "sweep": run.ref.sweep, "name": run.ref.name, "status": run.status,
        "command": info.get("command"), "params": run.params, "metrics": run.metrics,
        "created": info.get("created"), "started": info.get("started"), "ended": info.get("ended"),
        "duration": info.get("duration"), "exit_code": info.get("exit_code"), "host": info.get("host"),
        "gpus": info.get("gpus") or [], "commit": run.commit, "snapshot": snapshot,
        "base_commit": info.get("base_commit"), "branch": info.get("branch"),
        "files": name_status(git, info.get("base_commit"), _tree(snapshot)),
        "logdir": info.get("logdir"),  # where the run wrote (what LOGDIR in its command became)
        "excluded_files": info.get("excluded_files") or [],
        "artifacts": info.get("artifacts") or [], "live": run.live, "tags": info.get("tags") or {},
        "error": _failure(git, run), "record": info,
    }


def show(git: Git, text: str) -> dict[str, Any]:
    return describe(git, load_one(git, text))


def _rows(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    keys = list(a) + [k for k in b if k not in a]
    return [{"key": k, "a": a.get(k), "b": b.get(k), "changed": a.get(k) != b.get(k)} for k in keys]


def diff(git: Git, text_a: str, text_b: str, with_patch: bool = True) -> dict[str, Any]:
    """Two runs side by side: two git processes whatever the number of runs (one `cat-file
    --batch` for both records, one `diff-tree` for the files and their patches)."""
    with git.cat_file() as cat:
        a, b = load_one(git, text_a, cat), load_one(git, text_b, cat)
    old, new = _tree(a.snapshot), _tree(b.snapshot)
    files = changes(git, old, new) if with_patch else name_status(git, old, new)
    return {
        "a": a.id, "b": b.id, "snapshot_a": a.snapshot, "snapshot_b": b.snapshot,
        "status": {"a": a.status, "b": b.status},
        "params": _rows(a.params, b.params), "metrics": _rows(a.metrics, b.metrics), "files": files,
    }


def compare(git: Git, texts: list[str]) -> dict[str, Any]:
    """Two or more runs side by side: each param and metric with one value per run (`changed`
    when they are not all equal), and each run's code against the first run's."""
    with git.cat_file() as cat:
        runs = [load_one(git, text, cat) for text in texts]

    def rows(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
        keys: list[str] = []
        for mapping in values:
            keys += [k for k in mapping if k not in keys]
        return [{"key": k, "values": [m.get(k) for m in values],
                 "changed": any(m.get(k) != values[0].get(k) for m in values)} for k in keys]

    first = runs[0]
    return {
        "runs": [r.id for r in runs], "snapshots": [r.snapshot for r in runs], "status": [r.status for r in runs],
        "params": rows([r.params for r in runs]), "metrics": rows([r.metrics for r in runs]),
        "code": [{"run": r.id, "against": first.id, "same": r.snapshot == first.snapshot,
                  "snapshot": r.snapshot, "against_snapshot": first.snapshot,
                  "files": name_status(git, _tree(first.snapshot), _tree(r.snapshot))} for r in runs[1:]],
    }


def file_at(git: Git, text: str, path: str) -> dict[str, Any]:
    run = load_one(git, text)
    data = git.show_file(run.snapshot, path)
    return {"exists": data is not None, "content": (data or b"").decode(errors="replace"), "commit": run.snapshot}


def series(git: Git, texts: list[str], keys: list[str] | None = None, time: bool = False) -> dict[str, Any]:
    """Every logged point of the runs, per run and key: [step, value] (and time, when asked)."""
    result, seen = [], []
    for run_id, points in _each_run(git, texts, lambda cat, run: store.series_of(git, cat, run)):
        curves: dict[str, list[list[Any]]] = {}
        for point in points:
            key = str(point["key"])
            if key not in seen:
                seen.append(key)
            if not keys or key in keys:
                values = [point.get("step"), point.get("value")]
                curves.setdefault(key, []).append(values + [_seconds(point.get("time"))] if time else values)
        result += [{"run": run_id, "key": k, "points": v} for k, v in curves.items()]
    return {"series": result, "keys": seen}


Columns = tuple[array, array, "array | None"]  # steps, values, times (None: no point has a time)


class CurveCache:
    """Curves of finished runs already read, by the commit of their record, for a long-lived
    reader (the language server). A record never changes under its commit (a new tag is a new
    commit), so a finished run's entry cannot go stale: a plot asked for again, or a live plot's
    refresh while most of its runs are done, reads only the live runs and the runs not seen yet.
    Live runs are never kept, nor a record that did not read whole. Least recently used entries
    go past `most_bytes`: the doubles, plus the Python objects around them (ENTRY_BYTES,
    CURVE_BYTES), so runs of many short curves, or of none, are bounded too."""

    ENTRY_BYTES = 200  # the commit string and the dict slot, per run
    CURVE_BYTES = 250  # three arrays, a tuple and the key, per curve

    def __init__(self, most_bytes: int = 64 << 20):
        import threading
        from collections import OrderedDict

        self.most_bytes = most_bytes
        self._items: OrderedDict[str, tuple[int, list[tuple[str, Columns]]]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # the server reads from a pool of threads

    def get(self, commit: str) -> list[tuple[str, Columns]] | None:
        with self._lock:
            hit = self._items.get(commit)
            if hit is None:
                return None
            self._items.move_to_end(commit)
            return hit[1]

    def put(self, commit: str, curves: list[tuple[str, Columns]]) -> None:
        size = self.ENTRY_BYTES + sum(self.CURVE_BYTES + 8 * sum(len(c) for c in columns if c is not None)
                                      for _, columns in curves)
        with self._lock:
            if commit in self._items or size > self.most_bytes:
                return
            self._items[commit] = (size, curves)
            self._bytes += size
            while self._bytes > self.most_bytes:
                self._bytes -= self._items.popitem(last=False)[1][0]


def curves(git: Git, texts: list[str], keys: list[str] | None = None, time: bool = False,
           most: int | None = None, cache: CurveCache | None = None) -> dict[str, Any]:
    """The runs' curves as a chart takes them: per run and key, columns of float64 (steps, values,
    and times in seconds since the epoch when asked and any point has one), all in one base64
    string of little-endian doubles, `data`; `curves[i]` says where its columns lie (`at`, in
    doubles; `count` points each). A point's step, value or time that is not a number is NaN.

    `series` as JSON numbers cost the plots of 100 runs x 1,000 points more than reading them
    (4 MB of text built, walked and parsed on both sides); these bytes cost a copy. `most`
    thins a longer curve to the points that keep its shape (per bucket: first, lowest, highest).
    `cache` keeps finished runs' columns between calls (see CurveCache)."""
    import base64
    import sys

    data, index, seen = array("d"), [], {}
    wanted = set(keys or ())
    for run_id, by_key in _run_columns(git, texts, cache):
        for key, (steps, values, times) in by_key:
            seen.setdefault(key)
            if wanted and key not in wanted:
                continue
            columns = [steps, values, times] if time and times is not None else [steps, values]
            kept = _thin(values, most)
            if kept is not None:
                columns = [array("d", [column[i] for i in kept]) for column in columns]
            index.append({"run": run_id, "key": key, "at": len(data), "count": len(columns[0]),
                          "timed": len(columns) == 3})
            for column in columns:
                data.extend(column)
    if sys.byteorder == "big":
        data.byteswap()
    return {"curves": index, "keys": list(seen), "data": base64.b64encode(data.tobytes()).decode("ascii")}


def _run_columns(git: Git, texts: list[str], cache: CurveCache | None) -> list[tuple[str, list[tuple[str, Columns]]]]:
    """(run id, its curves as columns, in the order their keys were first logged) per named run."""
    def read(cat: Any, run: store.Run) -> list[tuple[str, Columns]]:
        # a record that did not read whole (`error`: e.g. git's reader died) is not kept
        keep = cache is not None and not run.live and "error" not in run.info
        kept = cache.get(run.commit) if keep else None
        if kept is None:
            kept = _columns(store.series_of(git, cat, run))
            if keep:
                cache.put(run.commit, kept)
        return kept

    return _each_run(git, texts, read)


def _columns(points: list[dict[str, Any]]) -> list[tuple[str, Columns]]:
    by_key: dict[str, list[dict[str, Any]]] = {}
    for point in points:
        by_key.setdefault(str(point["key"]), []).append(point)
    curves = []
    for key, items in by_key.items():
        times = _column([p.get("time") for p in items], _seconds)
        curves.append((key, (_column([p.get("step") for p in items]), _column([p.get("value") for p in items]),
                             times if any(t == t for t in times) else None)))  # not all NaN
    return curves


def _each_run(git: Git, texts: list[str], read: Any) -> list[tuple[str, Any]]:
    """(run id, read(cat, run)) per named run, through one `git cat-file --batch` process."""
    found = []
    with git.cat_file() as cat:
        for text in texts:
            ref, commit = store.resolve(git, text, cat=cat)
            run = store.load_run(git, cat, ref, commit)
            found.append((run.id, read(cat, run)))
    return found


def _column(values: list[Any], number: Any = None) -> Any:
    """float64 of `values`; what is not a number (text, null, too big) is NaN, or `number(value)`."""
    try:
        return array("d", values)  # ints, floats (and bools, as 0/1) in one go
    except (TypeError, OverflowError):
        return array("d", [_float(v, number) for v in values])


def _float(value: Any, number: Any = None) -> float:
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return math.nan
    got = number(value) if number is not None else None
    return math.nan if got is None else got


def _thin(values: Any, most: int | None) -> list[int] | None:
    """Which points to keep of a curve longer than `most` (None: all): the first, lowest and
    highest of each of most/3 buckets, and the last point (the extension's `thin`)."""
    count = len(values)
    if not most or count <= most:
        return None
    buckets = max(1, most // 3)
    size = count / buckets
    kept: list[int] = []
    for bucket in range(buckets):
        start, end = math.floor(bucket * size), min(count, math.floor((bucket + 1) * size))
        span = range(start, end)
        low, high = min(span, key=values.__getitem__), max(span, key=values.__getitem__)
        kept += sorted({start, low, high})
    if kept[-1] != count - 1:
        kept.append(count - 1)
    return kept


IMAGE_STEPS = 50  # steps kept per run and tag (evenly spread, first and last always)
IMAGE_BYTES = 24 << 20  # encoded bytes per answer; beyond, steps come without data


def _mime(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"GIF8":
        return "image/gif"
    return "application/octet-stream"


def _spread(items: list[Any], most: int) -> list[Any]:
    if len(items) <= most:
        return items
    if most <= 1:
        return items[-1:]
    return [items[round(i * (len(items) - 1) / (most - 1))] for i in range(most)]


def images(git: Git, texts: list[str], max_steps: int = IMAGE_STEPS, max_bytes: int = IMAGE_BYTES) -> dict[str, Any]:
    """The images the runs logged (logx `add_image`, any TensorBoard writer's image summaries),
    per run and tag, step by step, as data URIs the editor can show as they are.

    They are read from the event files in the run folder (and the run's LOGDIR when it wrote
    elsewhere): images never go into git, so a run pulled from another machine has none.
    A step logged twice keeps its last image. Past `max_bytes` steps come with `uri: null`
    and `truncated` is set, so a run with huge images cannot stall the editor."""
    import base64

    from gitexp.track import tensorboard

    result, used, truncated = [], 0, False
    with git.cat_file() as cat:
        for text in texts:
            ref, commit = store.resolve(git, text, cat=cat)
            run = store.load_run(git, cat, ref, commit)
            folders = [record.RunFiles.for_run(git.gitexp_dir, ref).dir]
            logdir = run.info.get("logdir")
            if isinstance(logdir, str) and logdir:
                folders.append(Path(logdir))
            steps: dict[str, dict[int, tuple]] = {}
            for tag, step, when, width, height, data in tensorboard.images(tensorboard.image_event_files(folders)):
                steps.setdefault(tag, {})[step] = (when, width, height, data)
            for tag in sorted(steps):
                entries = []
                for step, (when, width, height, data) in _spread(sorted(steps[tag].items()), max_steps):
                    uri = None
                    if used + len(data) <= max_bytes:
                        used += len(data)
                        uri = f"data:{_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"
                    else:
                        truncated = True
                    entries.append({"step": step, "time": when, "width": width, "height": height,
                                    "bytes": len(data), "uri": uri})
                result.append({"run": run.id, "tag": tag, "logged": len(steps[tag]), "steps": entries})
    return {"images": result, "truncated": truncated}


def _seconds(value: Any) -> float | None:
    """A point's time as seconds since the epoch (the record holds numbers or ISO text)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return record.parse_iso(value) if isinstance(value, str) else None
