"""The in-script API (`gitexp.log`, `summary`, `config`, `save_checkpoint`) and standalone runs.

Every script runs as a real subprocess: the API keeps per-process state (buffer, run folder).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitexp.record import model as record
from gitexp.track import adhoc, artifacts


def run_script(cwd: Path, code: str, *args: str, env: dict[str, str] | None = None,
               check: bool = True) -> subprocess.CompletedProcess:
    script = cwd / "script.py"
    script.write_text(code)
    proc = subprocess.run([sys.executable, str(script), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc


def series(run_dir: Path) -> list[dict]:
    return record.read_series(run_dir / ".gitexp" / "metrics.jsonl")


def test_log_buffers_and_flushes_every_point_at_exit(tmp_path):
    run_script(tmp_path, "import gitexp\nfor i in range(1000):\n    gitexp.log({'loss': 1 / (i + 1), 'acc': i}, step=i)\n"
               "gitexp.log({'auto': 1})\ngitexp.log({'auto': 2})\n",
               env={"GITEXP_RUN_DIR": str(tmp_path)})
    points = series(tmp_path)
    assert len(points) == 2002
    assert points[0] == {"step": 0, "key": "loss", "value": 1.0, "time": points[0]["time"]}
    assert [(p["step"], p["value"]) for p in points if p["key"] == "auto"] == [(0, 1), (1, 2)]
    assert record.summarize(points)["acc"] == 999


def test_points_reach_the_file_while_the_script_still_runs(tmp_path):
    """The background flusher writes within about a second, without any flush() call."""
    proc = subprocess.Popen([sys.executable, "-c", "import gitexp, time\ngitexp.log({'x': 1.5})\n"
                             "print('logged', flush=True)\ntime.sleep(60)\n"],
                            env={**os.environ, "GITEXP_RUN_DIR": str(tmp_path)}, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "logged"
        deadline = time.monotonic() + 20
        while not series(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p["value"] for p in series(tmp_path)] == [1.5]
    finally:
        proc.kill()
        proc.wait()


def test_sigterm_flushes_before_the_process_dies(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import gitexp, time\ngitexp.log({'x': 1})\n"
                             "print('ready', flush=True)\ntime.sleep(60)\n"],
                            env={**os.environ, "GITEXP_RUN_DIR": str(tmp_path)}, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == -signal.SIGTERM
    assert [p["value"] for p in series(tmp_path)] == [1]


def test_log_is_thread_safe(tmp_path):
    run_script(tmp_path, "import gitexp, threading\n"
               "def work(n):\n    for i in range(500):\n        gitexp.log({f't{n}': i})\n"
               "threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]\n"
               "[t.start() for t in threads]; [t.join() for t in threads]\n",
               env={"GITEXP_RUN_DIR": str(tmp_path)})
    points = series(tmp_path)
    assert len(points) == 4000
    for n in range(8):
        assert [p["step"] for p in points if p["key"] == f"t{n}"] == list(range(500))


def test_summary_overrides_and_config_is_read_only(tmp_path):
    proc = run_script(tmp_path, "import gitexp\n"
                      "gitexp.log({'acc': 0.5}); gitexp.log({'acc': 0.4})\n"
                      "gitexp.summary['acc'] = 0.9\nprint(gitexp.summary['acc'], gitexp.config.lr, gitexp.config['model'].depth)\n"
                      "try:\n    gitexp.config.lr = 1\nexcept gitexp.errors.GitexpError as e:\n    print(e)\n"
                      "try:\n    gitexp.config.nope\nexcept AttributeError as e:\n    print(e)\n",
                      env={"GITEXP_RUN_DIR": str(tmp_path), "GITEXP_PARAMS": json.dumps({"lr": 0.1, "model": {"depth": 3}})})
    lines = proc.stdout.splitlines()
    assert lines[0] == "0.9 0.1 3"
    assert lines[1] == "gitexp.config is read-only: cannot set 'lr'"
    assert "no param 'nope'" in lines[2]
    overrides = record.read_json(tmp_path / ".gitexp" / "summary.json")
    assert record.summarize(series(tmp_path), overrides) == {"acc": 0.9}


def test_import_is_light_and_torch_free(tmp_path):
    proc = run_script(tmp_path, "import sys, gitexp\ngitexp.log({'a': 1})\n"
                      "print(sorted(m for m in ('torch', 'duckdb', 'pygls', 'tensorboard', 'numpy') if m in sys.modules))\n",
                      env={"GITEXP_RUN_DIR": str(tmp_path)})
    assert proc.stdout.strip() == "[]"


def test_checkpoints_keep_last_and_best_with_verified_pointers(tmp_path):
    run_script(tmp_path, "import gitexp\n"
               "for epoch, acc in enumerate([0.5, 0.7, 0.6]):\n"
               "    print(gitexp.save_checkpoint({'epoch': epoch, 'w': [acc] * 100}, metric=acc))\n",
               env={"GITEXP_RUN_DIR": str(tmp_path), "GITEXP_RUN": "s/r"})
    entries = {item["role"]: item for item in artifacts.read_manifest(tmp_path)}
    assert set(entries) == {"last", "best"}
    assert entries["best"]["metric"] == 0.7 and entries["last"]["metric"] == 0.6
    for entry in entries.values():
        assert artifacts.verify(entry)
        assert Path(entry["path"]).parent == tmp_path.resolve()
    Path(entries["best"]["path"]).write_bytes(b"tampered")
    assert not artifacts.verify(entries["best"])


def test_checkpoints_go_under_the_artifact_root(tmp_path):
    root = tmp_path / "store"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run_script(tmp_path, "import gitexp\ngitexp.save_checkpoint({'a': 1})\n",
               env={"GITEXP_RUN_DIR": str(run_dir), "GITEXP_RUN": "sw/r1", "GITEXP_ARTIFACT_ROOT": str(root)})
    [entry] = artifacts.read_manifest(run_dir)
    assert Path(entry["path"]) == (root / "sw" / "r1" / "checkpoint_last.pt").resolve()
    removed, freed = artifacts.remove_orphans(root, keep={"sw/other"})
    assert removed == ["sw/r1"] and freed == entry["size"] and not (root / "sw").exists()


def test_the_artifact_root_comes_from_git_config_unless_the_environment_says(tmp_path, monkeypatch):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.delenv(artifacts.ENV_ROOT, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)  # a developer's own setting must not leak in
    assert artifacts.configured_root(tmp_path) is None
    subprocess.run(["git", "config", "gitexp.artifactRoot", "~/ckpt"], cwd=tmp_path, check=True)
    assert artifacts.configured_root(tmp_path) == Path("~/ckpt").expanduser()
    monkeypatch.setenv(artifacts.ENV_ROOT, str(tmp_path / "env"))
    assert artifacts.configured_root(tmp_path) == tmp_path / "env"


def test_argv_becomes_params():
    assert adhoc.parse_argv(["--lr", "0.1", "--amp", "--batch-size=32", "opt=adam", "+model.depth=3", "data.txt",
                             "--name", "x1", "--neg", "-1"]) == {
        "lr": 0.1, "amp": True, "batch_size": 32, "opt": "adam", "model.depth": 3, "name": "x1", "neg": -1,
        "args": ["data.txt"]}


ADHOC = """\
import gitexp, sys
gitexp.init()
print("training", gitexp.config.lr)
for step in range(3):
    gitexp.log({"loss": 1.0 / (step + 1)}, step=step)
gitexp.summary["best"] = 0.25
if "--crash" in sys.argv:
    raise RuntimeError("diverged")
"""


def test_a_script_run_directly_becomes_an_adhoc_run(repo):
    repo.write("train_direct.py", ADHOC)
    proc = subprocess.run([sys.executable, "train_direct.py", "--lr", "0.1", "--seed", "7"], cwd=repo.path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    [ref] = repo.refs("refs/experiments/adhoc/")
    assert ref.startswith("refs/experiments/adhoc/train_direct-")
    info = json.loads(repo.show(f"{ref}:.gitexp/run.json"))
    assert info["status"] == "completed" and info["exit_code"] == 0
    assert info["params"] == {"lr": 0.1, "seed": 7}
    assert info["base_commit"] == repo.git("rev-parse", "HEAD").strip() and info["branch"] == "main"
    assert info["environment"]["python"] == sys.version.split()[0] and info["environment"]["seed"] == 7
    assert "train_direct.py" in repo.git("ls-tree", "--name-only", f"{ref}^1")  # the untracked script is in S
    assert json.loads(repo.show(f"{ref}:.gitexp/metrics.json")) == {"loss": pytest.approx(1 / 3), "best": 0.25}
    assert "training 0.1" in repo.show(f"{ref}:.gitexp/output.log")
    shown = json.loads(repo.gitexp("show", ref.rsplit("/", 2)[-2] + "/" + ref.rsplit("/", 1)[-1], "--json").stdout)
    assert shown["status"] == "completed" and shown["params"]["lr"] == 0.1


def test_an_adhoc_run_that_raises_is_recorded_failed(repo):
    repo.write("train_direct.py", ADHOC)
    proc = subprocess.run([sys.executable, "train_direct.py", "--lr", "1", "--crash"], cwd=repo.path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "diverged" in proc.stderr
    [ref] = repo.refs("refs/experiments/adhoc/")
    info = json.loads(repo.show(f"{ref}:.gitexp/run.json"))
    assert info["status"] == "failed" and info["failure"] == "RuntimeError: diverged"
    assert json.loads(repo.show(f"{ref}:.gitexp/metrics.json"))["loss"] == pytest.approx(1 / 3)


def test_log_outside_a_repo_warns_and_records_nothing(tmp_path):
    proc = run_script(tmp_path, "import gitexp\ngitexp.log({'a': 1})\nprint('ok')\n",
                      env={"GIT_CEILING_DIRECTORIES": str(tmp_path.parent)})
    assert proc.stdout.strip() == "ok"
    assert "metrics are not recorded" in proc.stderr and "not inside a git repository" in proc.stderr
