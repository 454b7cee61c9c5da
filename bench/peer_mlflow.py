"""MLflow as a benchmark peer: the same records in a sqlite store, queried through `search_runs`.

Making runs through MLflow's API costs ~3 calls (~20 ms) each, so 100k runs would take most of an hour.
The bulk path lets MLflow create the database (alembic migrations) and the experiments through its API,
then inserts the runs in one transaction through MLflow's own SQLAlchemy tables. A self-check at 200 runs
compares what `search_runs` and `get_metric_history` return for a bulk store and an API-made one; if they
differ, sizes up to MLFLOW_MAX fall back to the API path and larger ones are skipped.
Scripts run in the peer's venv (bench/peers.py): gitexp's own environment has no mlflow.
"""

from __future__ import annotations

import functools
import json
import math
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from peers import repeats, rows_label

MLFLOW_PACKAGES = ["mlflow-skinny", "sqlalchemy", "alembic"]  # enough for a sqlite:/// tracking store
MLFLOW_MAX = 5_000  # through the API: each run costs ~3 MLflow calls, ~25 ms, so 5k runs is two minutes
CHECK_COUNT = 200  # runs in each store of the bulk self-check
TESTS = Path(__file__).resolve().parent.parent / "tests"  # holds recordgen.py

# argv: tracking uri, run count, tests folder. The same records as the git side, through MLflow's API.
MLFLOW_MAKE = """
import sys
sys.path.insert(0, sys.argv[3])
import recordgen
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
client, experiments = MlflowClient(sys.argv[1]), {}
for rec in recordgen.synthetic(int(sys.argv[2])):
    if rec.sweep not in experiments:
        experiments[rec.sweep] = client.create_experiment(rec.sweep)
    run = client.create_run(experiments[rec.sweep], run_name=rec.name)
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in rec.params.items()],
                     metrics=[Metric(p["key"], p["value"], int(p["time"] * 1000), p["step"]) for p in rec.series])
    client.set_terminated(run.info.run_id)
"""
# argv: as MLFLOW_MAKE. The rows create_run + log_batch + set_terminated write, inserted in one transaction.
MLFLOW_BULK = """
import sys, uuid
sys.path.insert(0, sys.argv[3])
import recordgen
from sqlalchemy import create_engine, insert
from mlflow.entities import LifecycleStage, RunStatus, SourceType
from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME
from mlflow.utils.time import get_current_time_millis
from mlflow.utils.uri import append_to_uri_path

def rows(records, experiments, now):
    tables = {model: [] for model in (SqlRun, SqlTag, SqlParam, SqlMetric, SqlLatestMetric)}
    for rec in records:
        run_id, experiment = uuid.uuid4().hex, experiments[rec.sweep]
        tables[SqlRun].append({
            "run_uuid": run_id, "name": rec.name, "experiment_id": int(experiment.experiment_id),
            "source_type": SourceType.to_string(SourceType.UNKNOWN), "source_name": "", "entry_point_name": "",
            "source_version": "", "user_id": "unknown", "status": RunStatus.to_string(RunStatus.FINISHED),
            "start_time": now, "end_time": now, "deleted_time": None, "lifecycle_stage": LifecycleStage.ACTIVE,
            "artifact_uri": append_to_uri_path(experiment.artifact_location, run_id, "artifacts")})
        tables[SqlTag].append({"run_uuid": run_id, "key": MLFLOW_RUN_NAME, "value": rec.name})
        tables[SqlParam].extend({"run_uuid": run_id, "key": k, "value": str(v)} for k, v in rec.params.items())
        latest = {}
        for p in rec.series:  # recordgen's values are finite: is_nan stays False
            metric = {"run_uuid": run_id, "key": p["key"], "value": p["value"], "timestamp": int(p["time"] * 1000),
                      "step": p["step"], "is_nan": False}
            tables[SqlMetric].append(metric)
            old = latest.get(p["key"])  # the latest is the greatest (step, timestamp, value), as MLflow keeps it
            if old is None or (metric["step"], metric["timestamp"], metric["value"]) > (
                    old["step"], old["timestamp"], old["value"]):
                latest[p["key"]] = metric
        tables[SqlLatestMetric].extend(latest.values())
    return tables

client, experiments = MlflowClient(sys.argv[1]), {}  # MLflow makes the schema and the experiments itself
records = recordgen.synthetic(int(sys.argv[2]))
for rec in records:
    if rec.sweep not in experiments:
        experiments[rec.sweep] = client.get_experiment(client.create_experiment(rec.sweep))
now = get_current_time_millis()
with create_engine(sys.argv[1]).begin() as connection:
    for start in range(0, len(records), 10_000):
        for model, chunk in rows(records[start:start + 10_000], experiments, now).items():
            connection.execute(insert(model.__table__), chunk)
"""
# argv: tracking uri, limit (0 = all rows). Pages of 10,000 runs, as `mlflow.search_runs` itself asks for them.
MLFLOW_QUERY = """
import csv, sys
from mlflow.tracking import MlflowClient
client, limit = MlflowClient(sys.argv[1]), int(sys.argv[2])
ids = [e.experiment_id for e in client.search_experiments()]
out, token, rows = csv.writer(sys.stdout), None, 0
while True:
    size = min(limit - rows, 10_000) if limit else 10_000
    page = client.search_runs(ids, order_by=["metrics.acc DESC"], max_results=size, page_token=token)
    for run in page:
        if not rows:
            out.writerow(["name", *run.data.params, *run.data.metrics])
        out.writerow([run.info.run_name, *run.data.params.values(), *run.data.metrics.values()])
        rows += 1
    token = page.token
    if not token or rows == limit:
        break
"""
# argv: tracking uri. What a reader sees of every run, as JSON keyed by run name; run ids and times left out.
MLFLOW_DUMP = """
import json, sys
from mlflow.tracking import MlflowClient
client = MlflowClient(sys.argv[1])
experiments = {e.experiment_id: e.name for e in client.search_experiments()}
runs, token = {}, None
while True:
    page = client.search_runs(list(experiments), order_by=["metrics.acc DESC"], max_results=1000, page_token=token)
    for run in page:
        info = run.info
        runs[info.run_name] = {
            "experiment": experiments[info.experiment_id], "status": info.status, "user": info.user_id,
            "lifecycle_stage": info.lifecycle_stage, "artifact_uri": info.artifact_uri.replace(info.run_id, "<id>"),
            "params": run.data.params, "metrics": run.data.metrics, "tags": run.data.tags, "id": info.run_id}
    token = page.token
    if not token:
        break
for name in sorted(runs)[:5]:
    history = client.get_metric_history(runs[name]["id"], "acc")
    runs[name]["acc history"] = [[m.step, m.timestamp, m.value] for m in history]
for run in runs.values():
    del run["id"]
json.dump({"experiments": sorted(experiments.values()), "runs": runs}, sys.stdout)
"""


class PeerError(Exception):
    """A peer script failed; the message is its last stderr line."""


class PeerTimeout(PeerError):
    """A peer script ran past its time limit."""


def run_script(python: Path, script: str, *args: str, cwd: Path, timeout: float, keep_stdout: bool = True) -> str:
    """Run `script` in the peer's python; its stdout (or "" when discarded), else PeerError."""
    try:
        proc = subprocess.run([str(python), "-c", script, *args], check=False, cwd=cwd, text=True, timeout=timeout,
                              stdout=subprocess.PIPE if keep_stdout else subprocess.DEVNULL, stderr=subprocess.PIPE)
    except subprocess.TimeoutExpired:
        raise PeerTimeout(f"did not finish within {timeout:.0f} s") from None
    if proc.returncode:
        raise PeerError((proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1])
    return proc.stdout or ""


def make_store(script: str, count: int, db: Path, python: Path, timeout: float) -> tuple[str, float]:
    """A fresh sqlite store at `db` made by `script` (MLFLOW_MAKE or MLFLOW_BULK): its uri and seconds taken."""
    db.unlink(missing_ok=True)
    uri = f"sqlite:///{db}"
    start = time.perf_counter()
    run_script(python, script, uri, str(count), str(TESTS), cwd=db.parent, timeout=timeout)
    return uri, time.perf_counter() - start


def first_difference(api: object, bulk: object, where: str = "") -> str | None:
    """Where two JSON values first differ, as `path: api value != bulk value`; None when equal."""
    if isinstance(api, list) and isinstance(bulk, list) and len(api) == len(bulk):
        api, bulk = dict(enumerate(api)), dict(enumerate(bulk))
    if isinstance(api, dict) and isinstance(bulk, dict):
        for key in sorted(api.keys() | bulk.keys()):
            if key not in api or key not in bulk:
                return f"{where}/{key}: only in the {'bulk' if key in bulk else 'API'} store"
            if found := first_difference(api[key], bulk[key], f"{where}/{key}"):
                return found
        return None
    return None if api == bulk else f"{where or '/'}: {api!r} != {bulk!r}"


@functools.cache
def check_bulk(python: Path, count: int = CHECK_COUNT, timeout: float = 300.0) -> str | None:
    """Make `count` runs through the API and in bulk; None when MLflow reads both back alike, else how they differ.

    Cached: one check per process. PeerError (not cached) when the API path itself fails.
    """
    with tempfile.TemporaryDirectory(prefix="gitexp-mlflow-check-") as tmp:
        cwd = Path(tmp)  # both stores share it, so their default artifact locations match
        api, _ = make_store(MLFLOW_MAKE, count, cwd / "api.db", python, timeout)
        dumps = [json.loads(run_script(python, MLFLOW_DUMP, api, cwd=cwd, timeout=timeout))]
        try:
            bulk, _ = make_store(MLFLOW_BULK, count, cwd / "bulk.db", python, timeout)
            dumps.append(json.loads(run_script(python, MLFLOW_DUMP, bulk, cwd=cwd, timeout=timeout)))
        except PeerError as err:
            return f"the bulk path failed: {err}"
    return first_difference(*dumps)


def timed_query(python: Path, uri: str, limit: int, cwd: Path, timeout: float) -> float:
    """Seconds one whole-process MLFLOW_QUERY takes."""
    start = time.perf_counter()
    run_script(python, MLFLOW_QUERY, uri, str(limit), cwd=cwd, timeout=timeout, keep_stdout=False)
    return time.perf_counter() - start


def query_times(python: Path, uri: str, limit: int, cwd: Path, timeout: float, repeats: int) -> tuple[float, float]:
    """First query time and the median of `repeats` warm ones; PeerTimeout past `timeout` seconds."""
    first = timed_query(python, uri, limit, cwd, timeout)
    return first, statistics.median(timed_query(python, uri, limit, cwd, timeout) for _ in range(repeats))


def query_line(limit: int, times: tuple[float, float] | str, gitexp: float, timeout: float) -> str:
    """One result line: first and warm times, or why there are none (a str), against gitexp's warm time."""
    rows = rows_label(limit)
    if isinstance(times, str):
        return f"  warm {'mlflow search':<13} {rows:<8} {times} (ratio > {timeout / gitexp:.0f}x)"
    first, warm = times
    return (f"  warm {'mlflow search':<13} {rows:<8} {warm:7.3f} s   first query {first:.3f} s   "
            f"ratio to gitexp warm {warm / gitexp:.1f}x")


def bench_mlflow(count: int, root: Path, python: Path, warms: dict[int, float], timeout: float = 300.0) -> None:
    """The same runs in an MLflow sqlite store under `root`; first and warm whole-process queries vs gitexp's warm
    ones (`warms`: limit -> seconds, 0 = all rows). `timeout` bounds each peer process; a failing peer prints one
    line, never raises."""
    try:
        difference = check_bulk(python, timeout=timeout)
        if difference:
            print(f"  mlflow bulk store differs from the API's: {difference}")
            if count > MLFLOW_MAX:
                print(f"  mlflow                skipped above {MLFLOW_MAX} runs (~25 ms to create each via its API)")
                return
        script, how = ((MLFLOW_MAKE, "through its API") if difference else
                       (MLFLOW_BULK, f"in bulk via MLflow's tables (read back as through its API at {CHECK_COUNT})"))
        uri, made = make_store(script, count, root / f"mlflow{count}.db", python, timeout)
        print(f"  mlflow sqlite store   {count} runs created in {made:.1f} s {how}")
        times: dict[int, tuple[float, float] | str] = {}
        # Smallest limit first: every page costs about as much as the whole top-N query (on sqlite each page joins
        # every run to its latest metrics, quadratic in runs), so when that one times out, all rows can't finish.
        for limit in sorted(warms, key=lambda limit: limit or math.inf):
            late = next((f"not run: top {n} {t}" for n, t in times.items() if isinstance(t, str)), None)
            try:
                times[limit] = late or query_times(python, uri, limit, root, timeout, repeats(count))
            except PeerTimeout as err:
                times[limit] = str(err)
        for limit in sorted(warms):
            print(query_line(limit, times[limit], warms[limit], timeout))
    except PeerError as err:  # a broken peer is reported, not fatal: gitexp's own figures still stand
        print(f"  mlflow                failed: {err}")
