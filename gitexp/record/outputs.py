"""What counts as a run's output rather than code: kept out of snapshots unless committed.

Training code writes into the work tree (`model.pt`, Hydra's `outputs/`, TensorBoard's
`runs/`, Lightning's `lightning_logs/`, W&B's `wandb/`, MLflow's `mlruns/`). Such files are
results, not code: a snapshot that swallowed them would grow with every sweep and call each
run's output a code change. Three gitignore-style pattern lists decide, last match wins:

1. the defaults below;
2. the files earlier runs wrote into the workspace (learned after each launch, kept in
   `.git/gitexp/outputs`);
3. `git config gitexp.exclude` (several values, or space-separated patterns; `!pattern`
   takes a default or learned one back).

Only untracked files are filtered: a file the user committed is code and always stays.
"""

from __future__ import annotations

import os
from pathlib import Path

from gitexp.record.git import Git

DEFAULT_PATTERNS = (
    "outputs/", "multirun/", "runs/", "lightning_logs/", "wandb/", "mlruns/", "checkpoints/",
    "events.out.tfevents.*", "*.pt", "*.pth", "*.ckpt", "*.safetensors",
)
LEARNED = "outputs"  # under .git/gitexp/
# A new file with one of these suffixes is taken for code the user wrote during a sweep, never learned.
CODE_SUFFIXES = (".py", ".pyx", ".sh", ".ipynb", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".md",
                 ".c", ".cc", ".cpp", ".h", ".js", ".ts", ".txt")


def user_patterns(git: Git) -> list[str]:
    """Every value of `gitexp.exclude`, split on whitespace."""
    raw = git.run("config", "--get-all", "gitexp.exclude", check=False)
    return [p for line in raw.splitlines() for p in line.split()]


def learned_patterns(git: Git) -> list[str]:
    path = git.gitexp_dir / LEARNED
    try:
        return [line for line in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
                if line and not line.startswith("#")]
    except OSError:
        return []


class Rule:
    """The combined pattern list, matched the way git matches .gitignore."""

    def __init__(self, git: Git):
        import pathspec  # only a launch needs it

        self.patterns = [*DEFAULT_PATTERNS, *learned_patterns(git), *user_patterns(git)]
        self.spec = pathspec.GitIgnoreSpec.from_lines(self.patterns)

    def is_output(self, path: str) -> bool:
        return self.spec.match_file(path)

    def folder_of(self, path: str) -> str:
        """The outermost folder of `path` the rule excludes as a whole (`outputs/`), else the path."""
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth]) + "/"
            if self.spec.match_file(folder):
                return folder
        return path


def summarize(rule: Rule, root: Path, paths: list[str]) -> list[dict]:
    """One entry per excluded folder or file: {"path", "size", "files", "reason": "output"}."""
    entries: dict[str, dict] = {}
    for path in paths:
        key = rule.folder_of(path)
        try:
            size = os.lstat(root / path).st_size
        except OSError:
            size = 0
        entry = entries.setdefault(key, {"path": key, "size": 0, "files": 0, "reason": "output"})
        entry["size"] += size
        entry["files"] += 1
    return list(entries.values())


def learn(git: Git, paths: list[str]) -> None:
    """Remember files runs wrote into the workspace, so the next snapshot leaves them out."""
    known = set(learned_patterns(git))
    fresh = [line for line in (_literal(p) for p in paths if not p.endswith(CODE_SUFFIXES)) if line not in known]
    if not fresh:
        return
    path = git.gitexp_dir / LEARNED
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8", errors="surrogateescape") as handle:
        if not known:
            handle.write("# files gitexp runs wrote into the workspace: left out of later snapshots\n")
        handle.write("".join(line + "\n" for line in fresh))


def _literal(path: str) -> str:
    """A pattern matching exactly `path` from the top (gitignore's special characters escaped)."""
    out = "".join("\\" + c if c in "*?[]\\!#" else c for c in path)
    return "/" + (out[:-1] + "\\ " if out.endswith(" ") else out)
