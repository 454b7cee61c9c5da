"""Make run records in a throwaway repository, straight in the documented format.

Independent of gitexp's own writer on purpose: the index must read any record that follows
the README's layout, so tests and benchmarks build them with one `git fast-import` stream
(one snapshot commit, then one commit per run whose tree is the snapshot plus `.gitexp/`).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t", "LC_ALL": "C"}


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, input=input, capture_output=True, env=_ENV, check=True)
    return proc.stdout.decode()


def init_repo(path: Path) -> Path:
    """A git repository with one commit holding `train.py`."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    (path / "train.py").write_text("print('train')\n")
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "init")
    return path


@dataclass
class Record:
    """One run as committed: run.json fields, summary metrics and series points."""

    sweep: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    series: list[dict[str, Any]] = field(default_factory=list)
    status: str = "completed"
    info: dict[str, Any] = field(default_factory=dict)  # extra or overriding run.json fields
    raw: dict[str, bytes] = field(default_factory=dict)  # file name -> exact bytes (e.g. corrupt JSON)

    @property
    def id(self) -> str:
        return f"{self.sweep}/{self.name}"

    def files(self, snapshot: str, base: str) -> dict[str, bytes]:
        run = {"schema": 1, "sweep": self.sweep, "name": self.name, "status": self.status,
               "command": "python train.py", "params": self.params,
               "created": "2025-01-01T00:00:00.000+00:00", "started": "2025-01-01T00:00:01.000+00:00",
               "ended": None if self.status in ("running", "queued") else "2025-01-01T00:01:01.000+00:00",
               "exit_code": 0 if self.status == "completed" else None, "host": "box", "gpus": [0],
               "base_commit": base, "snapshot": snapshot, "attempt_id": f"{self.id}#1", **self.info}
        files = {
            "run.json": json.dumps(run, indent=1).encode(),
            "metrics.json": json.dumps(self.metrics, indent=1).encode(),
            "metrics.jsonl": b"".join(json.dumps(p).encode() + b"\n" for p in self.series),
            "output.log": b"done\n",
        }
        files.update(self.raw)
        return files


def synthetic(count: int, sweeps: int = 10, epochs: int = 10, seed: int = 0) -> list[Record]:
    """`count` plausible runs spread over `sweeps` sweeps: 5 params, 2 metrics, 2 curves each."""
    rng = random.Random(seed)
    records = []
    for i in range(count):
        params = {"lr": rng.choice([0.1, 0.03, 0.01, 0.003]), "batch": rng.choice([32, 64, 128]),
                  "optim": rng.choice(["sgd", "adam"]), "seed": i, "aug": rng.random() < 0.5}
        series = []
        for step in range(1, epochs + 1):
            series.append({"step": step, "key": "loss", "value": round(rng.random(), 6), "time": 1.7e9 + step})
            series.append({"step": step, "key": "acc", "value": round(rng.random(), 6), "time": 1.7e9 + step})
        metrics = {"loss": series[-2]["value"], "acc": series[-1]["value"]}
        records.append(Record(f"sweep{i % sweeps}", f"run{i}", params, metrics, series))
    return records


def write(repo: Path, records: list[Record]) -> dict[str, str]:
    """Commit `records` (one shared snapshot) with one fast-import; returns run id -> commit."""
    base = git(repo, "rev-parse", "HEAD").strip()
    snapshot = git(repo, "commit-tree", "HEAD^{tree}", "-p", base, "-m", "snapshot").strip()
    stamp = "1735689600 +0000"
    chunks = []
    for mark, rec in enumerate(records, start=1):
        chunks.append(f"commit refs/experiments/{rec.sweep}/{rec.name}\nmark :{mark}\n"
                      f"committer t <t@t> {stamp}\ndata 3\nrun\nfrom {snapshot}\n".encode())
        for name, content in rec.files(snapshot, base).items():
            chunks.append(f"M 100644 inline .gitexp/{name}\ndata {len(content)}\n".encode() + content + b"\n")
        chunks.append(b"\n")
    marks = repo / ".git" / "recordgen-marks"
    git(repo, "fast-import", "--quiet", "--force", f"--export-marks={marks}", input=b"".join(chunks))
    by_mark = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    return {rec.id: by_mark[f":{mark}"] for mark, rec in enumerate(records, start=1)}


def delete(repo: Path, run_id: str) -> None:
    git(repo, "update-ref", "-d", f"refs/experiments/{run_id}")


def heavy(count: int, sweeps: int = 10, epochs: int = 20, seed: int = 0):
    """Runs of the shape real sweeps have: 20 params, 10 summary metrics, 2 curves of `epochs`
    points. A generator: at 100k runs the records are written as they are made."""
    rng = random.Random(seed)
    for i in range(count):
        params = {f"p{j:02d}": rng.choice([0.1, 0.03, 0.01, 0.003]) for j in range(12)}
        params.update({"batch": rng.choice([32, 64, 128]), "optim": rng.choice(["sgd", "adam"]), "seed": i,
                       "aug": rng.random() < 0.5, "arch": rng.choice(["resnet18", "resnet50", "vit-b"]),
                       "depth": rng.choice([2, 4, 8]), "dropout": rng.choice([0.0, 0.1]), "wd": 1e-4})
        lines = []
        for step in range(1, epochs + 1):
            lines.append('{"step": %d, "key": "loss", "value": %.6f, "time": %d}\n' % (step, rng.random(), 1.7e9 + step))
            lines.append('{"step": %d, "key": "acc", "value": %.6f, "time": %d}\n' % (step, rng.random(), 1.7e9 + step))
        metrics = {"loss": rng.random(), "acc": rng.random(), **{f"m{j}": round(rng.random(), 6) for j in range(8)}}
        rec = Record(f"sweep{i % sweeps}", f"run{i}", params, metrics)
        rec.raw["metrics.jsonl"] = "".join(lines).encode()
        yield rec


def write_stream(repo: Path, records) -> int:
    """Like `write`, for an iterable of any size: streamed into one fast-import; returns the count."""
    base = git(repo, "rev-parse", "HEAD").strip()
    snapshot = git(repo, "commit-tree", "HEAD^{tree}", "-p", base, "-m", "snapshot").strip()
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--force"], cwd=repo, stdin=subprocess.PIPE,
                            env=_ENV)
    assert proc.stdin
    count = 0
    for count, rec in enumerate(records, start=1):
        chunks = [f"commit refs/experiments/{rec.sweep}/{rec.name}\n"
                  f"committer t <t@t> 1735689600 +0000\ndata 3\nrun\nfrom {snapshot}\n".encode()]
        for name, content in rec.files(snapshot, base).items():
            chunks.append(f"M 100644 inline .gitexp/{name}\ndata {len(content)}\n".encode() + content + b"\n")
        chunks.append(b"\n")
        proc.stdin.write(b"".join(chunks))
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    return count
