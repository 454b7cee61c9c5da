"""Shared fixtures: real git repositories in temporary folders, and the real `gitexp` command.

A template repository is built once per session and copied for each test (fast, and every
test gets its own independent repo).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

def in_terminal(cwd: Path, args: list[str], env: dict[str, str], cols: int = 80, rows: int = 24) -> str:
    """`python -m gitexp ARGS` attached to a real pseudo-terminal of `cols` x `rows`: what it drew
    (escape codes kept). It must exit 0."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "gitexp", *args], cwd=cwd, env=env,
                            stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    screen = b"".join(chunks).decode(errors="replace")
    assert proc.wait(timeout=60) == 0, screen
    return screen


def alive(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


GIT_ENV = {
    "GIT_AUTHOR_NAME": "Tester", "GIT_AUTHOR_EMAIL": "tester@example.com",
    "GIT_COMMITTER_NAME": "Tester", "GIT_COMMITTER_EMAIL": "tester@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_OPTIONAL_LOCKS": "0",  # so `git status` in a test never rewrites the index it checks
}


def git(repo: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV})
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


class Repo:
    """A throwaway git repo with helpers to write files and call `gitexp` for real."""

    def __init__(self, path: Path):
        self.path = path

    def write(self, rel: str, content: str | bytes) -> Path:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        return target

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.path, *args, check=check)

    def commit(self, message: str = "work", **files: str) -> str:
        for rel, content in files.items():
            self.write(rel, content)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def gitexp(self, *args: str, check: bool = True, timeout: float = 60, cwd: Path | None = None,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "gitexp", *args], cwd=cwd or self.path,
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **GIT_ENV, **(env or {})})
        if check and proc.returncode != 0:
            raise AssertionError(f"gitexp {' '.join(args)} exited {proc.returncode}\n"
                                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def refs(self, prefix: str = "refs/experiments/") -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        return dict(line.split() for line in out.splitlines())

    def show(self, rev_path: str) -> str:
        return self.git("show", rev_path)


@pytest.fixture(scope="session")
def _template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Tester")
    git(path, "config", "user.email", "tester@example.com")
    (path / ".gitignore").write_text("ignored/\n*.ckpt\n")
    (path / "train.py").write_text(TRAIN_PY)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


TRAIN_PY = '''\
import argparse, os, sys
import gitexp
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--fail", action="store_true")
p.add_argument("--sleep", type=float, default=0)
p.add_argument("--logdir", default=".")
a = p.parse_args()
import time
for step in range(3):
    gitexp.log({"loss": 1.0 / (step + 1) * a.lr, "acc": 0.5 + step * a.lr}, step=step)
print("trained lr", a.lr, "logdir", a.logdir, "env", os.environ.get("GITEXP_RUN_DIR"))
time.sleep(a.sleep)
if a.fail:
    print("boom", file=sys.stderr)
    sys.exit(3)
'''


@pytest.fixture
def repo(_template: Path, tmp_path: Path) -> Repo:
    path = tmp_path / "repo"
    shutil.copytree(_template, path, symlinks=True)
    return Repo(path)
