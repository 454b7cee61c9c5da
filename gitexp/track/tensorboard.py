"""TensorBoard both ways: scalars in from any event files a run writes, event files out from records.

In: whatever writer the script uses (torch's SummaryWriter, tensorboardX, `tensorboard.summary
.Writer`) leaves `*tfevents*` files under LOGDIR. `Ingest` tails them with TensorBoard's own
reader (it resumes after a torn last record) and appends each scalar to the run's series,
so they reach the record with no code change. Files gitexp wrote itself are skipped: its
exports under `.gitexp/`, and logx's mirror files (suffix `MIRROR_SUFFIX`, whose scalars
logx already logged through `gitexp.log`).

Out: `materialize` writes event files (each run's series plus an HParams session) for chosen
records into `<dir>/<sweep>/<run>/` with one HParams experiment at the top, and `serve`
starts the real TensorBoard on it. Event files are made on demand from the records, never
at the end of every run: importing TensorBoard's writer costs about a second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from gitexp.record import model as record

MIRROR_SUFFIX = ".gitexp-mirror"
POLL_SECONDS = 2.0  # how often the scheduler tails a live run's event files


def is_event_file(path: Path) -> bool:
    return "tfevents" in path.name and not path.name.endswith(MIRROR_SUFFIX)


class Ingest:
    """Tails every event file of one run; `poll()` appends new scalars to its series.

    The run's files are those under its run folder, plus — for writers that pick their own
    folder, as `SummaryWriter()` does with `./runs/<date>_<host>` — the event files that
    appear below its working directory after it started and that its own processes wrote
    (`watch_workspace`): the writer's pid is in the file name, and a pid belongs to the run
    when it is the run's process or in its session. So concurrent runs never mix.
    `add_scalars("loss", {"train": a})` writes tag `loss` into a folder `loss_train`; such a
    series is keyed `loss/train`, as TensorBoard shows it.
    """

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.series = self.run_dir / record.RECORD_DIR / record.SERIES_JSONL
        self._loaders: dict[Path, Any] = {}
        self._scalar_tags: dict[Path, set[str]] = {}
        self.errors: dict[Path, str] = {}  # unreadable files, skipped from then on
        self.workspace: Path | None = None
        self._scan: WorkspaceScan | None = None
        self.pid = 0
        self.since = 0.0
        self._strays: list[Path] = []  # files below the workspace this run wrote
        self._foreign: set[Path] = set()  # ... and those it did not

    def watch_workspace(self, cwd: Path, pid: int, since: float) -> None:
        """Also read event files the run's processes (session `pid`) write below `cwd`."""
        self.workspace, self.pid, self.since = Path(cwd), pid, since
        self._scan = WorkspaceScan(self.workspace, since)

    def event_files(self) -> list[Path]:
        found = []
        for folder, dirs, names in os.walk(self.run_dir):
            dirs[:] = sorted(d for d in dirs if d != record.RECORD_DIR)
            found += [Path(folder) / name for name in sorted(names) if is_event_file(Path(name))]
        return found + self._workspace_files()

    def _workspace_files(self) -> list[Path]:
        if self.workspace is None or self.pid <= 0:
            return []
        for path in _event_files_below(self._scan, self.run_dir, self.since):
            if path in self._foreign or path in self._strays:
                continue
            owner = _writer_pid(path)
            if owner == self.pid or (owner and _session(owner) == self.pid):
                self._strays.append(path)
            elif owner is None or _session(owner) is not None:  # alive elsewhere: not ours
                self._foreign.add(path)
        return list(self._strays)

    def poll(self) -> int:
        """Read what was appended since the last call; returns how many points were added."""
        from gitexp.track.points import append_lines, point_line

        lines = []
        for path in self.event_files():
            if path in self.errors:
                continue
            loader = self._loaders.get(path)
            if loader is None:
                loader = self._loaders[path] = _loader(path)
                self._scalar_tags[path] = set()
            try:
                for step, tag, value, when in _scalars(loader.Load(), self._scalar_tags[path]):
                    lines.append(point_line(step, _series_key(path, tag), value, when))
            except Exception as error:  # a corrupt file must not stop the run's record
                self.errors[path] = f"{type(error).__name__}: {error}"
        if lines:
            self.series.parent.mkdir(parents=True, exist_ok=True)
            append_lines(self.series, lines)
        return len(lines)


def _series_key(path: Path, tag: str) -> str:
    """`loss/train` for add_scalars' series (tag `loss` in a folder `loss_train`), else the tag."""
    folder, lead = path.parent.name, tag.replace("/", "_") + "_"
    if folder.startswith(lead) and len(folder) > len(lead):
        return f"{tag}/{folder[len(lead):]}"
    return tag


_SKIP_DIRS = {".git", "node_modules", "__pycache__", "site-packages", ".venv", "venv", ".tox"}


class WorkspaceScan:
    """The event files below a folder (hidden folders and environments skipped), found again
    every poll without listing the whole work tree: a folder is listed again only when its
    mtime changed (creating a file or a subfolder changes its parent's), so a steady poll is
    one `stat` per folder. A folder whose mtime is under `RACY_NS` old is listed again next
    time as well: a second change within the same clock tick would not move it (git's "racy"
    rule). Appending to a known file changes no folder, and needs none: it is already found.

    With `since` (when the run started), a folder untouched since then that has no subfolders
    is not listed at all: nothing in it can be the run's (a writer makes a new file, which
    moves the folder's mtime). A folder's link count tells it has no subfolders (2: itself and
    its `.`), as find(1)'s leaf optimisation reads it, so a gitignored dataset of a million
    files in leaf folders costs a stat per folder, not a million entries. The count is trusted
    on a file system (device) once a listed folder with subfolders agreed with it, and never
    after one disagreed (btrfs counts 1, some network and FUSE file systems differ too)."""

    RACY_NS = 2_000_000_000

    def __init__(self, root: Path, since: float | None = None):
        self.root = str(root)
        self._before = None if since is None else int((since - 1) * 1e9)  # as `_event_files_below` counts
        self._counts: dict[int, bool] = {}  # device -> its folders' links are 2 + their subfolders
        self._folders: dict[str, tuple[int, bool, list[str], list[str]]] = {}  # mtime, racy, subfolders, files

    def files(self) -> list[Path]:
        found, seen, stack = [], set(), [self.root]
        while stack:
            folder = stack.pop()
            try:
                info = os.stat(folder)
            except OSError:
                continue
            cached = self._folders.get(folder)
            if cached is None or cached[0] != info.st_mtime_ns or cached[1]:
                cached = self._folders[folder] = self._look(folder, info)
            seen.add(folder)
            stack += [os.path.join(folder, name) for name in cached[2]]
            found += [Path(folder, name) for name in cached[3]]
        for gone in self._folders.keys() - seen:
            del self._folders[gone]
        return found

    def _look(self, folder: str, info: os.stat_result) -> tuple[int, bool, list[str], list[str]]:
        if (self._before is not None and info.st_nlink == 2 and info.st_mtime_ns < self._before
                and self._counts.get(info.st_dev)):
            return info.st_mtime_ns, False, [], []  # an old leaf: listed once it changes
        mtime, racy, folders, files, subfolders = self._list(folder, info.st_mtime_ns)
        if subfolders > 0 and info.st_nlink == 2 + subfolders:
            self._counts.setdefault(info.st_dev, True)
        elif subfolders >= 0 and info.st_nlink != 2 + subfolders and self._counts.get(info.st_dev) is not False:
            self._counts[info.st_dev] = False  # the counts mean something else here: list the leaves skipped so far
            self._folders = {path: (m, True, sub, names) for path, (m, _, sub, names) in self._folders.items()}
        return mtime, racy, folders, files

    def _list(self, folder: str, mtime: int) -> tuple[int, bool, list[str], list[str], int]:
        racy = time.time_ns() - mtime < self.RACY_NS
        folders, files, subfolders = [], [], 0
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        subfolders += 1
                        if entry.name not in _SKIP_DIRS and not entry.name.startswith("."):
                            folders.append(entry.name)
                    elif "tfevents" in entry.name and not entry.name.endswith(MIRROR_SUFFIX):
                        files.append(entry.name)
        except OSError:
            racy, subfolders = True, -1  # unreadable now: try again next poll (and trust no count)
        return mtime, racy, sorted(folders), sorted(files), subfolders


def _event_files_below(scan: WorkspaceScan, run_dir: Path, since: float) -> list[Path]:
    """Event files below the scanned folder modified since `since`, outside `run_dir`."""
    found = []
    for path in scan.files():
        try:
            if path.stat().st_mtime >= since - 1 and run_dir not in path.parents:
                found.append(path)
        except OSError:
            continue
    return found


def _writer_pid(path: Path) -> int | None:
    """The pid in an event file's name (TensorBoard's and torch's writers, TF2's `.v2`):
    events.out.tfevents.<time>.<host>.<pid>.<n>[.v2]; None when the name carries none."""
    tokens = path.name.split("tfevents.", 1)[-1].split(".")
    if tokens and tokens[-1] == "v2":
        tokens = tokens[:-1]
    if len(tokens) >= 4 and tokens[-1].isdigit() and tokens[-2].isdigit():
        return int(tokens[-2])
    return None


def _session(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


def _loader(path: Path) -> Any:
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    return EventFileLoader(str(path))


def _scalars(events: Iterable[Any], scalar_tags: set[str]) -> Iterable[tuple[int, str, float, float]]:
    """(step, tag, value, wall_time) of scalar summaries, whichever writer produced them.

    The loader migrates TF1-style `simple_value`s to scalar tensors; v2 writers put the
    `scalars` plugin metadata on a tag's first value only, so tags are remembered per file.
    """
    import numpy
    from tensorboard.util import tensor_util

    for event in events:
        if not event.HasField("summary"):
            continue
        for value in event.summary.value:
            if value.metadata.plugin_data.plugin_name == "scalars":
                scalar_tags.add(value.tag)
            if value.HasField("simple_value"):
                yield event.step, value.tag, _shortest(numpy.float32(value.simple_value)), event.wall_time
            elif value.tag in scalar_tags and value.HasField("tensor"):
                array = tensor_util.make_ndarray(value.tensor)
                if array.size == 1:
                    yield event.step, value.tag, _shortest(array.reshape(())[()]), event.wall_time


def _shortest(number: Any) -> float:
    """A float32 as the decimal it was written as (0.1, not 0.10000000149011612)."""
    return float(str(number))


# -- images -------------------------------------------------------------------------------


def image_event_files(folders: Iterable[Path]) -> list[Path]:
    """Every event file below `folders`, logx's mirror files included (images live only there),
    gitexp's own `.gitexp/` exports left out; each file once."""
    found: list[Path] = []
    for root in folders:
        if not Path(root).is_dir():
            continue
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != record.RECORD_DIR)
            found += [Path(folder) / name for name in sorted(names) if "tfevents" in name]
    unique = {path.resolve(): path for path in found}
    return list(unique.values())


def images(paths: Iterable[Path]) -> Iterable[tuple[str, int, float, int, int, bytes]]:
    """(tag, step, wall_time, width, height, encoded image) of every image summary in the files.

    Any writer: TF1-style `Summary.Image` (torch, tensorboardX, logx) and v2 `images` plugin
    tensors both arrive as the plugin's `[width, height, image, ...]` string tensor after
    TensorBoard's read-time migration; only the first image of a batch (`add_images`) is kept.
    The metadata that names a tag as an image sits on its first value only: tags are
    remembered per file. An unreadable file is skipped (a run's images are a bonus).
    """
    for path in paths:
        image_tags: set[str] = set()
        try:
            for event in _loader(path).Load():
                if not event.HasField("summary"):
                    continue
                for value in event.summary.value:
                    if value.metadata.plugin_data.plugin_name == "images":
                        image_tags.add(value.tag)
                    if value.tag not in image_tags or not value.HasField("tensor"):
                        continue
                    data = list(value.tensor.string_val)
                    if len(data) < 3:
                        continue
                    try:
                        width, height = int(data[0]), int(data[1])
                    except ValueError:
                        width = height = 0
                    yield value.tag, int(event.step), float(event.wall_time), width, height, bytes(data[2])
        except Exception:
            continue


# -- writing ------------------------------------------------------------------------------


class EventWriter:
    """A minimal event-file writer on TensorBoard's own `EventFileWriter` (no torch needed)."""

    def __init__(self, logdir: Path, filename_suffix: str = ""):
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self._closed = False
        self._writer = EventFileWriter(str(logdir), max_queue_size=1000, flush_secs=1,
                                       filename_suffix=filename_suffix)

    @property
    def path(self) -> Path:
        return Path(self._writer._general_file_writer.name)

    def add_summary(self, summary: Any, step: int = 0, wall_time: float | None = None) -> None:
        from tensorboard.compat.proto import event_pb2

        self._writer.add_event(event_pb2.Event(wall_time=wall_time or time.time(), step=int(step), summary=summary))

    def add_scalar(self, tag: str, value: float, step: int = 0, wall_time: float | None = None) -> None:
        from tensorboard.compat.proto import summary_pb2

        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(value))])
        self.add_summary(summary, step, wall_time)

    def flush(self) -> None:
        if not self._closed:  # after close, a no-op, as torch's SummaryWriter makes it
            self._writer.flush()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._writer.close()


def _hparams_summary(tag: str, plugin_data: Any) -> Any:
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.hparams import metadata

    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(
        tag=tag, metadata=metadata.create_summary_metadata(plugin_data), tensor=metadata.NULL_TENSOR)])


def flat_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """HParams values are bool, number or string: nested mappings become dotted keys."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flat_params(value, name + "."))
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        elif value is not None:
            flat[name] = str(value)
    return flat


def session_start(params: Mapping[str, Any], group: str, start: float | None) -> Any:
    from tensorboard.plugins.hparams import plugin_data_pb2

    info = plugin_data_pb2.SessionStartInfo(group_name=group, start_time_secs=start or time.time())
    for key, value in flat_params(params).items():
        if isinstance(value, bool):
            info.hparams[key].bool_value = value
        elif isinstance(value, (int, float)):
            info.hparams[key].number_value = value
        else:
            info.hparams[key].string_value = value
    return _hparams_summary("_hparams_/session_start_info", plugin_data_pb2.HParamsPluginData(session_start_info=info))


# HParams knows success, failure, running and unknown; a stopped run did not succeed.
_STATUS = {"completed": "STATUS_SUCCESS", "failed": "STATUS_FAILURE", "lost": "STATUS_FAILURE",
           "cancelled": "STATUS_FAILURE"}


def session_end(status: str, end: float | None) -> Any:
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    info = plugin_data_pb2.SessionEndInfo(status=api_pb2.Status.Value(_STATUS.get(status, "STATUS_UNKNOWN")),
                                          end_time_secs=end or time.time())
    return _hparams_summary("_hparams_/session_end_info", plugin_data_pb2.HParamsPluginData(session_end_info=info))


def experiment(param_sets: list[Mapping[str, Any]], metric_keys: list[str]) -> Any:
    """The top-level HParams experiment: which columns the dashboard offers."""
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    kinds: dict[str, str] = {}
    for params in param_sets:
        for key, value in flat_params(params).items():
            kind = "DATA_TYPE_BOOL" if isinstance(value, bool) else \
                "DATA_TYPE_FLOAT64" if isinstance(value, (int, float)) else "DATA_TYPE_STRING"
            kinds[key] = kind if kinds.get(key, kind) == kind else "DATA_TYPE_STRING"
    hparam_infos = [api_pb2.HParamInfo(name=key, type=api_pb2.DataType.Value(kind)) for key, kind in kinds.items()]
    metric_infos = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=key)) for key in metric_keys]
    data = api_pb2.Experiment(hparam_infos=hparam_infos, metric_infos=metric_infos, time_created_secs=time.time())
    return _hparams_summary("_hparams_/experiment", plugin_data_pb2.HParamsPluginData(experiment=data))


def write_run(dest: Path, points: Iterable[Mapping[str, Any]], info: Mapping[str, Any]) -> list[str]:
    """One run's numeric points and HParams session as an event file in `dest`; returns its keys."""
    dest.mkdir(parents=True, exist_ok=True)
    writer = EventWriter(dest)
    group = f"{info.get('sweep')}/{info.get('name')}"
    writer.add_summary(session_start(info.get("params") or {}, group, record.parse_iso(info.get("started"))))
    keys: list[str] = []
    for point in points:
        value = point.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        key = str(point["key"])
        if key not in keys:
            keys.append(key)
        step = point.get("step")
        writer.add_scalar(key, value, step if isinstance(step, int) else 0, point.get("time"))
    if info.get("status") in _STATUS:
        writer.add_summary(session_end(str(info["status"]), record.parse_iso(info.get("ended"))))
    writer.close()
    return keys


def materialize(git: Any, runs: Iterable[Any], dest: Path) -> list[str]:
    """Event files for `runs` (store.Run objects) under `dest/<sweep>/<run>/`; returns the run ids."""
    from gitexp.record import store

    dest.mkdir(parents=True, exist_ok=True)
    ids, param_sets, metric_keys = [], [], []
    with git.cat_file() as cat:
        for run in runs:
            keys = write_run(dest / run.ref.sweep / run.ref.name, store.series_of(git, cat, run), run.info)
            metric_keys += [k for k in keys if k not in metric_keys]
            param_sets.append(run.params)
            ids.append(run.id)
    top = EventWriter(dest)
    top.add_summary(experiment(param_sets, metric_keys))
    top.close()
    return ids


def select(git: Any, texts: list[str]) -> list[Any]:
    """RUN|SWEEP arguments -> runs as readers see them (live ones overlaid); none -> every run."""
    from gitexp.record import store, view

    if not texts:
        return view.load_all(git)
    with git.cat_file() as cat:
        return [store.load_run(git, cat, ref, commit) for ref, commit in view.resolve_many(git, texts)]


def serve(logdir: Path, port: int | None = None, echo: Callable[[str], None] = print) -> int:
    """Run the real TensorBoard over `logdir` on 127.0.0.1 (no port: the first free from 6006)
    until it exits or we get Ctrl-C / SIGTERM, which stop it too; `echo` gets its output lines."""
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1"]
    if port is not None:
        command += ["--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        assert server.stdout
        for line in server.stdout:
            echo(line.rstrip("\n"))
        return server.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
