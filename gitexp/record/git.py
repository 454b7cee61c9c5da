"""The one thin module through which gitexp talks to git: the `git` command line.

Why the CLI and not a library: plumbing (`write-tree`, `fast-import`, `update-ref` with
old-value checks) is what makes writes safe, every call can get its own environment
(a temporary `GIT_INDEX_FILE`) without touching process-wide state, and a persistent
`git cat-file --batch` stream reads thousands of objects through one process.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from gitexp.errors import GitCommandError, NotARepoError

ZERO_SHA = "0" * 40

# Keep git's output machine-readable and never let it wait for a terminal.
_BASE_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(_BASE_ENV)
    if extra:
        env.update(extra)
    return env


@dataclass(frozen=True)
class Git:
    """A git work tree, addressed by its top-level folder."""

    root: Path
    git_dir: Path
    common_dir: Path

    # -- running commands -------------------------------------------------
    def call(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run `git ARGS` and hand back the whole result, for callers that read its exit status."""
        return subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=cwd or self.root, input=input,
                              capture_output=True, env=_env(env))

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        """A long-lived `git ARGS` process with piped stdin/stdout (stderr dropped), e.g. cat-file --batch."""
        return subprocess.Popen(["git", *args], cwd=self.root, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=_env())

    def run_bytes(
        self,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
        cwd: Path | None = None,
    ) -> bytes:
        proc = self.call(*args, input=input, env=env, cwd=cwd)
        if check and proc.returncode != 0:
            raise GitCommandError(f"git {args[0]} failed: {last_line(proc.stderr, f'exit code {proc.returncode}')}")
        return proc.stdout

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
            check: bool = True) -> str:
        out = self.run_bytes(*args, input=None if input is None else input.encode(), env=env, check=check)
        return out.decode(errors="replace")

    def ok(self, *args: str, env: dict[str, str] | None = None) -> bool:
        """True when the command exits 0 (for questions such as 'does this ref exist')."""
        return self.call(*args, env=env).returncode == 0

    # -- common questions ---------------------------------------------------
    def rev_parse(self, rev: str) -> str | None:
        """Full SHA of `rev`, or None when it does not resolve."""
        proc = self.call("rev-parse", "--verify", "-q", rev + "^{commit}")
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def head_and_branch(self) -> tuple[str | None, str | None]:
        """HEAD's commit and short branch name in one process (None, None-or-branch before a first commit)."""
        proc = self.call("rev-parse", "HEAD", "--abbrev-ref", "HEAD")
        lines = proc.stdout.decode().split()
        if proc.returncode != 0 or len(lines) != 2:
            return None, self.branch()
        return lines[0], None if lines[1] == "HEAD" else lines[1]  # "HEAD": detached

    def branch(self) -> str | None:
        return self.call("symbolic-ref", "-q", "--short", "HEAD").stdout.decode().strip() or None

    def show_file(self, rev: str, path: str) -> bytes | None:
        proc = self.call("cat-file", "blob", f"{rev}:{path}")
        return proc.stdout if proc.returncode == 0 else None

    @cached_property
    def gitexp_dir(self) -> Path:
        """Everything gitexp keeps besides refs lives here (shared by all worktrees)."""
        path = self.common_dir / "gitexp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def cat_file(self) -> "CatFile":
        return CatFile(self)


def config_value(key: str, cwd: Path | None = None, kind: str | None = None) -> str | None:
    """`git config --get KEY` where no repository object exists yet (e.g. inside a run); None if unset."""
    proc = subprocess.run(["git", "config", "--get", *([f"--type={kind}"] if kind else []), key], cwd=cwd,
                          capture_output=True, env=_env())
    value = proc.stdout.decode().strip()
    return value if proc.returncode == 0 and value else None


def last_line(stderr: bytes, default: str = "no message") -> str:
    """The line of git's stderr that says why it failed."""
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else default


def open_repo(path: str | os.PathLike[str] = ".") -> Git:
    """The repository containing `path`; NotARepoError when there is none."""
    where = Path(path).resolve()
    if not where.exists():
        raise NotARepoError(f"{path}: no such folder")
    if where.is_file():
        where = where.parent
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-common-dir"],
        cwd=where, capture_output=True, env=_env(),
    )
    if proc.returncode != 0:
        raise NotARepoError(f"{where}: not inside a git repository",
                            hint="run `git init` first, or cd into your project")
    lines = proc.stdout.decode().splitlines()
    if len(lines) < 3 or not lines[0]:
        raise NotARepoError(f"{where}: not inside a git work tree (bare repository?)")
    root, git_dir, common = Path(lines[0]), Path(lines[1]), Path(lines[2])
    if not common.is_absolute():
        common = (where / common).resolve()
    return Git(root=root, git_dir=git_dir, common_dir=common)


class CatFile:
    """One persistent `git cat-file --batch` process: many object reads, one process.

    Thread-safe (a lock serialises requests); close it, or use it as a context manager.
    """

    def __init__(self, git: Git):
        self._proc = git.spawn("cat-file", "--batch")
        self._lock = threading.Lock()

    def read(self, rev: str) -> tuple[str, bytes] | None:
        """(type, content) of an object, or None when it is missing."""
        got = self._ask(rev)
        return (got[1], got[2]) if got else None

    def _ask(self, rev: str) -> tuple[str, str, bytes] | None:
        """(object id, type, content) of `rev`, or None when it is missing."""
        assert self._proc.stdin and self._proc.stdout
        with self._lock:
            self._proc.stdin.write(rev.encode() + b"\n")
            self._proc.stdin.flush()
            header = self._proc.stdout.readline().decode().split()
            if len(header) < 3 or header[1] == "missing":
                return None
            return header[0], header[1], self._proc.stdout.read(int(header[2]) + 1)[:-1]

    def blob(self, rev: str) -> bytes | None:
        got = self.read(rev)
        return got[1] if got else None

    def object_id(self, rev: str) -> str | None:
        """The object `rev` names (a ref, say), or None: `rev-parse --verify` without a process."""
        got = self._ask(rev)
        return got[0] if got else None

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin
            self._proc.stdin.close()
            self._proc.wait()

    def __enter__(self) -> "CatFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
