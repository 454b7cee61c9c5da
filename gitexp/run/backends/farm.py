"""`--backend farm`: runx's farm model. Each run becomes one submission to a batch system.

Settings come from the sweep file or a `.runx` beside it (runx's keys): `SUBMIT_CMD` (default
`sbatch`), `RESOURCES` (and `SUBMIT_JOB.NODES`/`PARTITION`), `FARM` (a label). For `sbatch` the
resources become `#SBATCH` lines of a generated job script submitted with `--parsable`; any
other command gets runx's `--key value` flags followed by the script path, so a site wrapper
(or a test's stand-in) can submit it however it likes.

The job script needs only `sh`, `git` and `tar` on the node. It gets the code by commit: a
`git archive` of the snapshot S from the repository path (a shared filesystem, the default) or,
when `git config gitexp.farmCode REMOTE` is set, from that remote, where the driver first
pushes the run's ref (its first parent is S); either way it is unpacked once per snapshot per
node. It reports back through files in the run folder, `.gitexp/farm/` (the run folder must be
on a filesystem both sides see): `output`, `host`, `heartbeat` (touched every second), `exit`;
the driver tails them, and asks the job to stop by writing `stop`. Scripts write metrics
into LOGDIR, which is the driver's run folder itself, so the record is built as for a local run.
A job whose heartbeat goes stale (`gitexp.farmLostAfter` seconds, default 120) is `lost`.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from gitexp.errors import GitexpError
from gitexp.record import model as record
from gitexp.record.git import Git
from gitexp.run.backends.job import Job, job_id
from gitexp.run.scheduler import Placement, Task

DEFAULT_SUBMIT = "sbatch"
DEFAULT_LOST_AFTER = 120.0
ABANDON_SECONDS = 5.0  # after SIGKILL: stop waiting for a job that may still sit in the queue
# runx resource names -> sbatch options
SBATCH = {"gpus": "gpus", "cpu": "cpus-per-task", "cpus": "cpus-per-task", "nodes": "nodes",
          "partition": "partition", "mem": "mem", "time": "time", "account": "account", "qos": "qos"}


class FarmSlots:
    """The farm queues and places jobs itself: every run is submitted at once."""

    def check(self, resources: dict[str, Any]) -> None:
        pass

    def acquire(self, task: Task) -> Placement | None:
        return Placement("farm", reason="submitted to the farm's queue")

    def release(self, task: Task, placement: Placement, exit_code: int | None) -> None:
        pass

    def observe(self, running: dict) -> None:
        pass


class FarmBackend:
    name = "farm"

    def __init__(self, git: Git):
        self.git = git
        self.code_remote = git.run("config", "--get", "gitexp.farmCode", check=False).strip() or None
        lost = git.run("config", "--get", "gitexp.farmLostAfter", check=False).strip()
        try:
            self.lost_after = float(lost) if lost else DEFAULT_LOST_AFTER
        except ValueError:
            raise GitexpError(f"git config gitexp.farmLostAfter: {lost!r} is not a number of seconds") from None

    def slots(self) -> FarmSlots:
        return FarmSlots()

    def process(self, job: Job) -> "FarmJob":
        return FarmJob(self, job)

    def close(self) -> None:
        pass

    def code_fetch(self, job: Job) -> str:
        """Shell lines that unpack S into "$tmp" on the node."""
        if self.code_remote is None:
            return f'git --git-dir={shlex.quote(str(self.git.common_dir))} archive "$S" | tar -xf - -C "$tmp"'
        from gitexp.record import remote

        pushed = remote.push(self.git, self.code_remote, [job.run.id])
        if pushed.rejected:
            raise GitexpError(f"{job.run}: cannot publish its code to {self.code_remote}: "
                              f"{pushed.rejected[job.run.id]}")
        url = self.git.run("remote", "get-url", self.code_remote, check=False).strip() or self.code_remote
        return (f'git init -q --bare "$tmp.git" && git --git-dir="$tmp.git" fetch -q --depth=2 '
                f'{shlex.quote(url)} {shlex.quote(job.run.ref)} && '
                f'git --git-dir="$tmp.git" archive "$S" | tar -xf - -C "$tmp"; rm -rf "$tmp.git"')


def submission(job: Job, script: Path) -> tuple[list[str], list[str]]:
    """(the submit command line, the #SBATCH lines of the script) for this job's resources."""
    submit = str(job.options.get("submit_cmd") or DEFAULT_SUBMIT)
    words = shlex.split(submit)
    resources = {k: v for k, v in job.resources.items() if k not in ("slot", "alone") and v is not None}
    if words and Path(words[0]).name == "sbatch":
        lines = [f"#SBATCH --job-name={job.run.id}", f"#SBATCH --output={script.parent / 'slurm.out'}"]
        lines += [f"#SBATCH --{SBATCH.get(k, k)}={v}" for k, v in resources.items() if type(v) is not bool]
        return [*words, "--parsable", str(script)], lines
    flags: list[str] = []
    for key, value in resources.items():  # runx's expand_resources: switches, repeated lists
        if type(value) is bool:
            flags += [f"--{key}"] if value else []
        elif isinstance(value, (list, tuple)):
            for item in value:
                flags += [f"--{key}", str(item)]
        else:
            flags += [f"--{key}", str(value)]
    return [*words, *flags, str(script)], []


class FarmJob:
    """One submitted job, seen from the driver through its report files."""

    def __init__(self, backend: FarmBackend, job: Job):
        self.backend = backend
        self.job = job
        self.dir = job.run_dir / record.RECORD_DIR / "farm"
        self.pid = job_id()
        self.started = 0.0
        self.timed_out = False
        self.signalled = False
        self.lost: str | None = None
        self.job_id: str | None = None
        self._code: int | None = None
        self._offset = 0
        self._partial = b""
        self._abandon_at: float | None = None

    @property
    def where(self) -> dict[str, Any]:
        host = _read(self.dir / "host")
        return {"farm": self.job.options.get("farm") or "", "job_id": self.job_id, "host": host or None}

    def start(self) -> None:
        self.started = time.time()
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.iterdir():  # an earlier attempt's reports
            old.unlink()
        script = self.dir / "job.sh"
        argv, directives = submission(self.job, script)
        script.write_text(self._script(directives))
        proc = subprocess.run(argv, cwd=self.backend.git.root, capture_output=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            self._feed(f"gitexp: submission failed: {shlex.join(argv)}\n".encode() + proc.stdout + proc.stderr)
            self._code = proc.returncode
            return
        lines = proc.stdout.decode(errors="replace").strip().splitlines()
        self.job_id = lines[-1].split(";")[0].split()[-1] if lines and lines[-1].split() else None

    def _script(self, directives: list[str]) -> str:
        job = self.job
        exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in job.job_env(dict(os.environ)).items())
        steps = job.commands[0] if len(job.commands) == 1 else " && ".join(f"( {c} )" for c in job.commands)
        return "\n".join([
            "#!/bin/sh", *directives,
            f"# gitexp farm job for {job.run} (generated; see gitexp/backends/farm.py)",
            f"R={shlex.quote(str(self.dir))}", f"S={job.snapshot}",
            'report() { echo "$2" > "$R/$1.tmp" && mv "$R/$1.tmp" "$R/$1"; }',
            'report host "$(hostname)"; touch "$R/heartbeat"',
            'CACHE="${GITEXP_CACHE:-${TMPDIR:-/tmp}/gitexp-$(id -u)}/snapshots"; CODE="$CACHE/$S"',
            'if [ ! -f "$CODE/.gitexp-complete" ]; then',
            '  mkdir -p "$CACHE" && tmp=$(mktemp -d "$CODE.XXXXXX") || { report exit 126; exit 126; }',
            f'  {{ {self.backend.code_fetch(job)}; }} > "$R/output" 2>&1 || {{ report exit 126; exit 126; }}',
            '  touch "$tmp/.gitexp-complete"',
            '  if [ -e "$CODE" ]; then rm -rf "$tmp"; else mv "$tmp" "$CODE" || rm -rf "$tmp"; fi',
            "fi",
            f'cd "$CODE"/{shlex.quote(job.cwd)} || {{ report exit 127; exit 127; }}',
            exports,
            f"setsid /bin/sh -c {shlex.quote(steps)} >> \"$R/output\" 2>&1 < /dev/null &",
            'child=$!; echo "$$ $child" > "$R/pid"',
            'while kill -0 "$child" 2>/dev/null; do',
            '  touch "$R/heartbeat"',
            # kept until the signal lands: setsid makes the job its group a moment after $! is known
            '  if [ -f "$R/stop" ]; then kill -"$(cat "$R/stop")" -"$child" 2>/dev/null && rm -f "$R/stop"; fi',
            "  sleep 1",
            "done",
            'wait "$child"; code=$?',
            'report exit "$code"', "",
        ])

    def _feed(self, data: bytes) -> None:
        self._partial = self.job.feed(self._partial, data)

    def _tail(self) -> None:
        try:
            with open(self.dir / "output", "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        self._feed(data)

    def poll(self) -> int | None:
        if self._code is not None:
            return self._code
        self._tail()
        code = _read(self.dir / "exit")
        if code is not None:
            self._tail()
            if self._partial:
                self._feed(b"\n")
            self._code = int(code) if code.lstrip("-").isdigit() else 1
            return self._code
        now = time.time()
        try:
            beat = (self.dir / "heartbeat").stat().st_mtime
        except FileNotFoundError:
            beat = None  # still queued (or never started): the farm's queue is not ours to judge
        if beat is not None and now - beat > self.backend.lost_after:
            self.lost = f"no heartbeat from farm job {self.job_id or '?'} for {now - beat:.0f} s (node failure?)"
            self._code = -1
        elif self._abandon_at is not None and time.monotonic() > self._abandon_at:
            self._code = -signal.SIGKILL
        return self._code

    def signal(self, sig: int) -> None:
        if self._code is not None:
            return
        self.signalled = True
        name = signal.Signals(sig).name[3:]
        (self.dir / "stop").write_text(name + "\n")
        if sig == signal.SIGKILL:
            self._abandon_at = time.monotonic() + ABANDON_SECONDS
            if self.job_id and "sbatch" in str(self.job.options.get("submit_cmd") or DEFAULT_SUBMIT):
                try:
                    subprocess.run(["scancel", self.job_id], capture_output=True, check=False)
                except OSError:
                    pass  # no scancel here: the stop file still ends the job once it runs

    def kill_group(self) -> None:
        self.signal(signal.SIGKILL)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None
