"""DVC as a peer of the index benchmark: `dvc exp show` over 1k-100k experiments.

Running 100k real `dvc exp run`s (about a second each) is out of reach, so the experiments are
written in bulk, in DVC's own layout, by one `git fast-import`: one real `dvc exp run` first
makes a template, then every record becomes a commit on `refs/exps/<base[:2]>/<base[2:]>/<name>`
whose parent is the baseline and whose tree is the baseline plus that experiment's `params.yaml`,
`metrics.json` and `dvc.lock`. Before any figure is printed, the generator must rebuild DVC's
template tree byte for byte from the template's own params and metrics; if it can't, DVC is
reported as skipped rather than measured on experiments it would not have written.

Timing: "first" is `dvc exp show` with DVC's experiment cache (`.dvc/tmp/exps/cache`) removed,
against gitexp's first query with no index yet; "warm" is the same command once that cache is
filled, against gitexp's warm query. DVC has no row limit, so both sides print every
experiment, sorted by acc. The DVC side holds params and summary metrics only: `exp show` reads
no curves.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from peers import repeats

DVC_PACKAGES = ["dvc"]
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
PARAMS = ["lr", "batch", "optim", "seed", "aug"]  # recordgen's params, in its order
TRAIN = """import json, yaml
p = yaml.safe_load(open("params.yaml"))
json.dump({"loss": round(1 - p["lr"], 6), "acc": round(p["lr"] * 2, 6)}, open("metrics.json", "w"))
"""


class Unfaithful(Exception):
    """The bulk experiments would differ from what DVC writes: measuring them would mislead."""


def sh(*args: str, cwd: Path, data: bytes | None = None, timeout: float | None = None) -> str:
    proc = subprocess.run(args, cwd=cwd, input=data, capture_output=True, env=ENV, timeout=timeout)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(args[:3])}: {(proc.stderr.decode().strip().splitlines() or ['?'])[-1]}")
    return proc.stdout.decode()


def params_yaml(params: dict[str, Any]) -> bytes:
    """params.yaml as DVC rewrites it after `-S` (one `key: value` per line, file order kept)."""
    return "".join(f"{k}: {scalar(params[k])}\n" for k in PARAMS).encode()


def scalar(value: Any) -> str:
    """A param as DVC's YAML writer spells it (recordgen's values are plain words and numbers)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def metrics_json(metrics: dict[str, Any]) -> bytes:
    return json.dumps({"loss": metrics["loss"], "acc": metrics["acc"]}).encode()  # json.dump, as TRAIN


def dvc_lock(template: str, params: dict[str, Any], metrics: bytes) -> bytes:
    """The template's dvc.lock with this experiment's params and metrics file hash."""
    lock = template
    for key in PARAMS:
        lock = _replace_line(lock, f"        {key}: ", scalar(params[key]))
    digest = hashlib.md5(metrics).hexdigest()
    head, _, tail = lock.partition("    - path: metrics.json\n")
    tail = _replace_line(_replace_line(tail, "      md5: ", digest), "      size: ", str(len(metrics)))
    return f"{head}    - path: metrics.json\n{tail}".encode()


def _replace_line(text: str, prefix: str, value: str) -> str:
    """Replace the value of the first line starting with `prefix`."""
    start = text.index(prefix) + len(prefix)
    return text[:start] + value + text[text.index("\n", start):]


def make_repo(repo: Path, dvc: Path, records: list) -> int:
    """A DVC project holding one experiment per record; returns how many experiments it has."""
    repo.mkdir(parents=True)
    python = dvc.parent / "python"  # the peer venv's, which has PyYAML
    sh("git", "init", "-q", "-b", "main", cwd=repo)
    (repo / "train.py").write_text(TRAIN)
    first = records[0].params
    (repo / "params.yaml").write_bytes(params_yaml({**first, "lr": 0.5}))
    (repo / "dvc.yaml").write_text(
        f"stages:\n  train:\n    cmd: {python} train.py\n    deps: [train.py]\n    params: [{', '.join(PARAMS)}]\n"
        "    metrics:\n    - metrics.json:\n        cache: false\n")
    sh(str(dvc), "init", "-q", cwd=repo)
    sh(str(dvc), "config", "--local", "core.check_update", "false", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-q", "-m", "baseline", cwd=repo)
    base = sh("git", "rev-parse", "HEAD", cwd=repo).strip()
    # the template: one experiment as DVC itself runs and commits it
    sets = [arg for key in PARAMS for arg in ("-S", f"{key}={scalar(first[key])}")]
    sh(str(dvc), "exp", "run", "-q", "-n", "template", *sets, cwd=repo, timeout=120)
    ref = f"refs/exps/{base[:2]}/{base[2:]}/template"
    made = sh("git", "rev-parse", ref, cwd=repo).strip()
    lock = sh("git", "show", f"{made}:dvc.lock", cwd=repo)
    metrics = json.loads(sh("git", "show", f"{made}:metrics.json", cwd=repo))
    message = sh("git", "log", "-1", "--format=%B", made, cwd=repo).strip()
    # faithful or nothing: rebuilding the template from its own values must give DVC's tree
    rebuilt = _import(repo, base, [("refs/exps/faithfulness-check", first, metrics)], lock, message)[0]
    ours, theirs = (sh("git", "rev-parse", f"{c}^{{tree}}", cwd=repo).strip() for c in (rebuilt, made))
    sh("git", "update-ref", "-d", "refs/exps/faithfulness-check", cwd=repo)
    sh("git", "update-ref", "-d", ref, cwd=repo)
    if ours != theirs:
        diff = sh("git", "diff", "--stat", made, rebuilt, cwd=repo).strip().splitlines()
        raise Unfaithful(f"bulk experiments differ from DVC's own: {diff[0] if diff else ours}")
    sh("git", "checkout", "-q", "--", ".", cwd=repo)  # `dvc exp run` leaves its results in the workspace
    for stray in ("dvc.lock", "metrics.json"):
        (repo / stray).unlink(missing_ok=True)
    _import(repo, base, [(f"refs/exps/{base[:2]}/{base[2:]}/{r.name}", r.params, r.metrics) for r in records],
            lock, message)
    return len(sh("git", "for-each-ref", f"refs/exps/{base[:2]}/", cwd=repo).splitlines())


def _import(repo: Path, base: str, exps: list[tuple[str, dict, dict]], lock: str, message: str) -> list[str]:
    """One fast-import commit per (ref, params, metrics) on top of `base`; returns the commits."""
    stamp = "1735689600 +0000"
    chunks = []
    for mark, (ref, params, metrics) in enumerate(exps, start=1):
        msg = message.encode()
        chunks.append(f"commit {ref}\nmark :{mark}\ncommitter t <t@t> {stamp}\n"
                      f"data {len(msg)}\n".encode() + msg + f"\nfrom {base}\n".encode())
        metrics_bytes = metrics_json(metrics)
        files = {"params.yaml": params_yaml(params), "metrics.json": metrics_bytes,
                 "dvc.lock": dvc_lock(lock, params, metrics_bytes)}
        for path, content in files.items():
            chunks.append(f"M 100644 inline {path}\ndata {len(content)}\n".encode() + content + b"\n")
        chunks.append(b"\n")
    marks = repo / ".git" / "dvc-bench-marks"
    sh("git", "fast-import", "--quiet", "--force", f"--export-marks={marks}", cwd=repo, data=b"".join(chunks))
    by_mark = dict(line.split() for line in marks.read_text().splitlines())
    marks.unlink()
    return [by_mark[f":{mark}"] for mark in range(1, len(exps) + 1)]


def exp_show(repo: Path, dvc: Path, count: int, timeout: float) -> float | None:
    """Seconds for `dvc exp show` of every experiment sorted by acc, or None past `timeout`."""
    start = time.perf_counter()
    try:
        out = sh(str(dvc), "exp", "show", "--csv", "--sort-by", "acc", "--sort-order", "desc", cwd=repo,
                 timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    elapsed = time.perf_counter() - start
    shown = out.count("\n") - 3  # less the header, the workspace and the baseline commit
    if shown != count:
        raise RuntimeError(f"dvc exp show listed {shown} experiments, not {count}")
    return elapsed


def bench_dvc(count: int, root: Path, dvc: Path, first: float, warm: float, timeout: float = 300.0) -> None:
    """Print DVC's first and warm `exp show` over `count` experiments next to gitexp's first and warm query
    of all rows. A failing or unfaithful peer prints one line, never raises."""
    import recordgen  # on the path bench_index.py set up

    repo = root / f"dvc{count}"
    try:
        _bench(repo, count, dvc, first, warm, timeout, recordgen.synthetic(count))
    except Unfaithful as err:
        print(f"  dvc exp show          skipped: {err}")
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        print(f"  dvc exp show          failed: {err}")
    finally:
        shutil.rmtree(repo, ignore_errors=True)  # 100k experiments: the next peer needs the room


def _bench(repo: Path, count: int, dvc: Path, first: float, warm: float, timeout: float, records: list) -> None:
    start = time.perf_counter()
    made = make_repo(repo, dvc, records)
    print(f"  dvc project           {made} experiments written in {time.perf_counter() - start:.1f} s "
          "(DVC's layout, checked against one real `dvc exp run`)")
    shutil.rmtree(repo / ".dvc" / "tmp" / "exps" / "cache", ignore_errors=True)
    theirs = exp_show(repo, dvc, count, timeout)
    if theirs is None:
        print(f"  dvc exp show, first   did not finish within {timeout:.0f} s   "
              f"ratio to gitexp's first query > {timeout / first:.0f}x")
        return
    print(f"  dvc exp show, first   {theirs:7.3f} s   ratio to gitexp's first query {theirs / first:.0f}x")
    samples = [exp_show(repo, dvc, count, timeout) for _ in range(repeats(count))]
    if None in samples:
        print(f"  dvc exp show, warm    did not finish within {timeout:.0f} s")
        return
    theirs = statistics.median(samples)
    print(f"  dvc exp show, warm    {theirs:7.3f} s   ratio to gitexp warm query (all rows) {theirs / warm:.1f}x")
