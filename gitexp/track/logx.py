"""runx's `logx`, recorded by gitexp: change `from runx.logx import logx` to `from gitexp.logx import logx`.

Same calls (`initialize`, `msg`, `metric`, `add_scalar`, `add_image`, `save_model`,
`get_best_checkpoint`, `load_model`, `suspend_flush`, `tensorboard`), same files in the
log folder (`metrics.csv`, `logging.log`, `hparams.json`, `last_checkpoint_ep<N>.pth`,
`best_checkpoint_ep<N>.pth`, TensorBoard events), same rank-0-only behaviour. In addition
every scalar goes to `gitexp.log` under its TensorBoard tag (`val/loss`), and checkpoints
become artifact pointers of the run. The event file carries a suffix so gitexp's TensorBoard
ingestion does not count those scalars twice; TensorBoard itself reads it as usual.

Without torch, TensorBoard output falls back to tensorboardX, then to TensorBoard's own
event writer (scalars and images), and checkpoints are pickled instead of `torch.save`d.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import pickle
import re
import struct
import time
import zlib
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from gitexp.errors import GitexpError

TRAIN_NAMES = ("trn", "train", "training")
VAL_NAMES = ("val", "validate", "validation", "test")
_BEST = re.compile(r"^best_checkpoint_ep([0-9]+)\.pth$")


def _summary_writer(logdir: str) -> Any:
    """torch's SummaryWriter, else tensorboardX's, else gitexp's own scalar+image writer."""
    from gitexp.track.tensorboard import MIRROR_SUFFIX

    if importlib.util.find_spec("torch") is not None:
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(log_dir=logdir, flush_secs=1, filename_suffix=MIRROR_SUFFIX)
    if importlib.util.find_spec("tensorboardX") is not None:
        from tensorboardX import SummaryWriter

        return SummaryWriter(logdir=logdir, flush_secs=1, filename_suffix=MIRROR_SUFFIX)
    return _FallbackWriter(logdir, MIRROR_SUFFIX)


class _FallbackWriter:
    """The part of SummaryWriter logx needs, on TensorBoard's own event writer."""

    def __init__(self, logdir: str, suffix: str):
        from gitexp.track.tensorboard import EventWriter

        self._events = EventWriter(Path(logdir), filename_suffix=suffix)

    def add_scalar(self, tag: str, value: Any, step: Any = None) -> None:
        self._events.add_scalar(tag, _number(value), int(step or 0))

    def add_scalars(self, main_tag: str, values: dict[str, Any], step: Any = None) -> None:
        for key, value in values.items():
            self.add_scalar(f"{main_tag}/{key}", value, step)

    def add_image(self, tag: str, img: Any, step: Any = None, dataformats: str = "CHW") -> None:
        from tensorboard.compat.proto import summary_pb2

        height, width, channels, png = _png(img, dataformats)
        image = summary_pb2.Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=png)
        self._events.add_summary(summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, image=image)]),
                                 int(step or 0))

    def flush(self) -> None:
        self._events.flush()

    def close(self) -> None:
        self._events.close()


def _png(img: Any, dataformats: str = "CHW") -> tuple[int, int, int, bytes]:
    """Encode an image array (CHW/HWC/HW; floats in [0, 1] or uint8) as PNG bytes."""
    import numpy as np

    array = np.asarray(img.detach().cpu().numpy() if hasattr(img, "detach") else img)
    if dataformats == "CHW" and array.ndim == 3:
        array = array.transpose(1, 2, 0)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise GitexpError(f"logx.add_image: expected a 1-, 3- or 4-channel image, got shape {array.shape}")
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float64), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    height, width, channels = array.shape
    color = {1: 0, 3: 2, 4: 6}[channels]
    raw = b"".join(b"\0" + array[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return height, width, channels, png


def _bind(args: tuple, kwargs: dict, names: tuple[str, ...]) -> list[Any]:
    """SummaryWriter arguments by position or keyword, in `names` order."""
    return [args[i] if i < len(args) else kwargs.get(name) for i, name in enumerate(names)]


def _number(value: Any) -> float:
    return float(value.item() if hasattr(value, "item") else value)


class _Tensorboard:
    """`logx.tensorboard.<any SummaryWriter method>`: rank 0 only, flushed after each call,
    and scalars mirrored into gitexp."""

    def __init__(self, owner: "LogX"):
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        owner = self._owner
        if owner.tb_writer is None:
            return lambda *args, **kwargs: None
        method = getattr(owner.tb_writer, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            owner._mirror(name, args, kwargs)
            owner._flush_tensorboard()
            return result

        return call


class LogX:
    def __init__(self, rank: int = 0):
        self.initialized = False
        self.rank0 = rank == 0
        self.tb_writer: Any = None
        self.tensorboard = _Tensorboard(self)

    def initialize(self, logdir: str | None = None, coolname: bool = False, hparams: dict | None = None,
                   tensorboard: bool = False, no_timestamp: bool = False, global_rank: int = 0,
                   eager_flush: bool = True) -> None:
        """As runx; without `logdir`, the gitexp run folder (LOGDIR) is used."""
        from gitexp.track import api as track

        self.rank0 = global_rank == 0
        self.initialized = True
        if logdir is None:
            run_dir = track.run_dir()
            if run_dir is None:
                raise GitexpError("logx.initialize: pass logdir= (this process is not recording a gitexp run)")
            logdir = str(run_dir)
            if coolname:
                logdir = os.path.join(logdir, f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        self.logdir = logdir
        self.eager_flush = eager_flush
        self.no_timestamp = no_timestamp
        self.epoch: defaultdict[str, int] = defaultdict(int)
        self.tb_writer = None
        if not self.rank0:
            return
        os.makedirs(self.logdir, exist_ok=True)
        if hparams is not None and not os.path.isfile(os.path.join(self.logdir, "hparams.json")):
            with open(os.path.join(self.logdir, "hparams.json"), "w") as handle:
                json.dump(hparams, handle, indent=4, default=str)
        if tensorboard:
            self.tb_writer = _summary_writer(self.logdir)
        self.metrics_fp = open(os.path.join(self.logdir, "metrics.csv"), mode="a+")
        self.metrics_writer = csv.writer(self.metrics_fp, delimiter=",")
        self.log_file = open(os.path.join(self.logdir, "logging.log"), mode="a+")
        self.save_metric: Any = None
        self.best_metric: Any = None
        self.save_ckpt_fn = ""
        self.best_ckpt_fn = self.get_best_checkpoint() or ""
        if self.best_ckpt_fn:
            self.best_metric = _load(self.best_ckpt_fn).get("__metric")
        row: list[Any] = ["start", "start/step", 0]
        if not no_timestamp:
            row += ["timestamp", time.time()]
        self.metrics_writer.writerow(row)
        self.metrics_fp.flush()

    def __del__(self) -> None:
        if getattr(self, "initialized", False) and self.rank0 and hasattr(self, "metrics_fp"):
            self.metrics_fp.close()
            self.log_file.close()

    def msg(self, msg: str) -> None:
        """Print, and append to logging.log."""
        if not self.rank0:
            return
        print(msg)
        if hasattr(self, "log_file"):
            self.log_file.write(msg + "\n")
            self.log_file.flush()

    def add_image(self, path: str, img: Any, step: int | None = None) -> None:
        self.tensorboard.add_image(path, img, step)

    def add_scalar(self, name: str, val: Any, idx: int) -> None:
        self.tensorboard.add_scalar(name, val, idx)
        if self.tb_writer is None and self.rank0:
            self._log({name: val}, idx)  # runx drops it without tensorboard; gitexp still records it

    def _flush_tensorboard(self) -> None:
        if self.eager_flush and self.tb_writer is not None:
            self.tb_writer.flush()

    @contextmanager
    def suspend_flush(self, flush_at_end: bool = True) -> Iterator[None]:
        previous, self.eager_flush = self.eager_flush, False
        try:
            yield
        finally:
            self.eager_flush = previous
            if flush_at_end:
                self._flush_tensorboard()

    def _mirror(self, method: str, args: tuple, kwargs: dict) -> None:
        if method == "add_scalar":
            tag, value, step = _bind(args, kwargs, ("tag", "scalar_value", "global_step"))
            self._log({tag: value}, step)
        elif method == "add_scalars":
            main, values, step = _bind(args, kwargs, ("main_tag", "tag_scalar_dict", "global_step"))
            self._log({f"{main}/{k}": v for k, v in values.items()}, step)

    @staticmethod
    def _log(values: dict[str, Any], step: Any) -> None:
        from gitexp.track import api as track

        track.log({k: _number(v) for k, v in values.items()}, step=None if step is None else int(step))

    def metric(self, phase: str, metrics: dict[str, Any], epoch: int | None = None) -> None:
        """A row in metrics.csv (val phases), scalars `<phase>/<key>` in TensorBoard and gitexp."""
        if not self.rank0:
            return
        if phase in TRAIN_NAMES:
            canonical = "train"
        elif phase in VAL_NAMES:
            canonical = "val"
        else:
            raise GitexpError(f"logx.metric: phase {phase!r} is not one of {TRAIN_NAMES + VAL_NAMES}")
        if epoch is not None:
            self.epoch[canonical] = epoch
        row: list[Any] = [canonical]
        for key, value in metrics.items():
            row += [key, value]
        row += ["epoch", self.epoch[canonical]]
        if not self.no_timestamp:
            row += ["timestamp", time.time()]
        if canonical == "val":
            self.metrics_writer.writerow(row)
            self.metrics_fp.flush()
        with self.suspend_flush():
            for key, value in metrics.items():
                self.tensorboard.add_scalar(f"{phase}/{key}", value, self.epoch[canonical])
        if self.tb_writer is None:
            self._log({f"{phase}/{k}": v for k, v in metrics.items()}, self.epoch[canonical])
        if epoch is None:
            self.epoch[canonical] += 1

    @staticmethod
    def is_better(save_metric: Any, best_metric: Any, higher_better: bool) -> bool:
        return best_metric is None or (save_metric > best_metric if higher_better else save_metric < best_metric)

    def save_model(self, save_dict: dict, metric: Any, epoch: int, higher_better: bool = True,
                   delete_old: bool = True) -> bool | None:
        """`last_checkpoint_ep<N>.pth` every call, `best_checkpoint_ep<N>.pth` when `metric` improves."""
        from gitexp.track import artifacts, api as track

        if not self.rank0:
            return None
        run_dir = track.run_dir()
        save_dict["__metric"] = metric
        if delete_old and os.path.exists(self.save_ckpt_fn):
            os.remove(self.save_ckpt_fn)
            if run_dir:
                artifacts.unregister(run_dir, Path(self.save_ckpt_fn))
        self.save_ckpt_fn = os.path.join(self.logdir, f"last_checkpoint_ep{epoch}.pth")
        artifacts.save_object(save_dict, Path(self.save_ckpt_fn))
        if run_dir:
            artifacts.register(run_dir, Path(self.save_ckpt_fn), kind="checkpoint", role="last",
                               metric=_number(metric), epoch=epoch)
        self.save_metric = metric
        better = self.is_better(metric, self.best_metric, higher_better)
        if better:
            if os.path.exists(self.best_ckpt_fn):
                os.remove(self.best_ckpt_fn)
                if run_dir:
                    artifacts.unregister(run_dir, Path(self.best_ckpt_fn))
            self.best_ckpt_fn = os.path.join(self.logdir, f"best_checkpoint_ep{epoch}.pth")
            self.best_metric = metric
            artifacts.copy(Path(self.save_ckpt_fn), Path(self.best_ckpt_fn))
            if run_dir:
                artifacts.register(run_dir, Path(self.best_ckpt_fn), kind="checkpoint", role="best",
                                   metric=_number(metric), epoch=epoch)
        return better

    def get_best_checkpoint(self) -> str | None:
        """The best checkpoint in the log folder (the highest epoch if several)."""
        best = max(((int(m.group(1)), name) for name in os.listdir(self.logdir) if (m := _BEST.fullmatch(name))),
                   default=None)
        return os.path.join(self.logdir, best[1]) if best else None

    def load_model(self, path: str) -> tuple[Any, dict]:
        checkpoint = _load(path)
        return checkpoint["state_dict"], {k: v for k, v in checkpoint.items() if k != "state_dict"}


def _load(path: str) -> Any:
    if importlib.util.find_spec("torch") is not None:
        import torch

        return torch.load(path, map_location="cpu", weights_only=False)
    with open(path, "rb") as handle:
        return pickle.load(handle)


logx = LogX()


def __getattr__(name: str) -> Any:
    """`from gitexp import logx; logx.initialize(...)` works on the module as on the object."""
    try:
        return getattr(logx, name)
    except AttributeError:
        raise AttributeError(f"module 'gitexp.logx' has no attribute {name!r}") from None
