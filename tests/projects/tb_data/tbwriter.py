"""torch's SummaryWriter as far as this project uses it, for machines without torch.

Same layout as torch.utils.tensorboard: no logdir -> ./runs/<date>_<host>; add_scalars writes
each series with its own writer into <logdir>/<main_tag>_<series>/ under the tag <main_tag>;
event files are named by TensorBoard's own EventFileWriter (time, host, pid).
"""
import os
import socket
import time
from datetime import datetime

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter


class SummaryWriter:
    def __init__(self, log_dir=None):
        if log_dir is None:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", stamp + "_" + socket.gethostname())
        self.log_dir = log_dir
        self._writers = {}
        self._writer(log_dir)

    def _writer(self, folder):
        if folder not in self._writers:
            self._writers[folder] = EventFileWriter(folder, max_queue_size=10, flush_secs=120)
        return self._writers[folder]

    def _write(self, folder, tag, value, step):
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(value))])
        self._writer(folder).add_event(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def add_scalar(self, tag, value, global_step=None):
        self._write(self.log_dir, tag, value, global_step or 0)

    def add_scalars(self, main_tag, values, global_step=None):
        for tag, value in values.items():
            folder = os.path.join(self.log_dir, main_tag.replace("/", "_") + "_" + tag)
            self._write(folder, main_tag, value, global_step or 0)

    def close(self):
        for writer in self._writers.values():
            writer.close()
