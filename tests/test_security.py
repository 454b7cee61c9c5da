"""Security: sweep values reach commands quoted, the language server never runs the code it
reads, queries cannot touch files (see test_corpus.py), nothing listens beyond loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import GIT_ENV

HOSTILE = ["$(touch pwned)", "; touch pwned", "`touch pwned`", "a && touch pwned", "x' ; touch pwned; '",
           "| touch pwned", "> pwned", "héllo\twörld"]
ARGV_PY = "import json, os, sys\nopen(os.path.join(os.environ['GITEXP_RUN_DIR'], 'argv.json'), 'w').write(json.dumps(sys.argv[1:]))\n"


def _argvs(repo) -> list[list[str]]:
    return [json.loads(p.read_text()) for p in sorted((repo.path / ".git/gitexp/runs").rglob("argv.json"))]


def _yaml_list(values) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def test_runx_values_reach_the_command_quoted(repo):
    repo.write("argv.py", ARGV_PY)
    repo.write("s.yml", f"CMD: python argv.py\nHPARAMS:\n  v: {_yaml_list(HOSTILE)}\n  '; touch pwned': [1]\n")
    repo.gitexp("run", "s.yml", "-j", "4")
    assert not (repo.path / "pwned").exists()
    assert sorted(_argvs(repo)) == sorted([["--v", v, "--; touch pwned", "1"] for v in HOSTILE])


def test_mlrunner_and_hydra_values_reach_the_command_quoted(repo):
    repo.write("argv.py", ARGV_PY)
    repo.write("m.yml", f"template: python argv.py {{v}} [w]\n---\nv: {_yaml_list(HOSTILE[:3])}\nw: ['$(touch pwned)']\n")
    repo.gitexp("run", "m.yml", "-j", "3")
    repo.write("h.yml", "CMD: python argv.py\nOVERRIDES:\n  - \"v='$(touch pwned)','; touch pwned'\"\n")
    repo.gitexp("run", "h.yml", "-j", "2")
    assert not (repo.path / "pwned").exists()
    got = sorted(_argvs(repo))
    assert sorted([v, "--w", "$(touch pwned)"] for v in HOSTILE[:3]) == [a for a in got if len(a) == 3]
    # kept quoted for Hydra's own override grammar, as Hydra's -m writes them
    assert sorted(a for a in got if len(a) == 1) == [["v='$(touch pwned)'"], ["v='; touch pwned'"]]


def test_cmd_that_uses_a_shell_is_the_users_choice(repo):
    repo.write("s.yml", "CMD: touch made-by-cmd; echo\nHPARAMS:\n  v: ['$(touch pwned)']\n")
    repo.gitexp("run", "s.yml")
    assert (repo.path / "made-by-cmd").exists() and not (repo.path / "pwned").exists()


# -- the language server ---------------------------------------------------------------


class LspClient:
    """A tiny synchronous LSP client over the real `gitexp lsp` stdio (Content-Length framing)."""

    def __init__(self, cwd: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "gitexp", "lsp"], cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env={**os.environ, **GIT_ENV})
        self.next_id = 0
        self.notifications: list[dict] = []

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def read(self) -> dict:
        length = 0
        while (line := self.proc.stdout.readline().strip()):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if not length:
            raise AssertionError(f"server closed: {self.proc.stderr.read().decode()[-2000:]}")
        return json.loads(self.proc.stdout.read(length))

    def request(self, method: str, params) -> dict:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        while True:
            message = self.read()
            if message.get("id") == self.next_id and "method" not in message:
                return message
            if "method" in message and "id" in message:  # a request from the server
                self.send({"id": message["id"], "result": None})
            elif "method" in message:
                self.notifications.append(message)

    def notify(self, method: str, params) -> None:
        self.send({"method": method, "params": params})

    def start(self, folder: Path) -> None:
        uri = folder.as_uri()
        self.request("initialize", {"processId": os.getpid(), "rootUri": uri, "capabilities": {},
                                    "workspaceFolders": [{"uri": uri, "name": folder.name}],
                                    "initializationOptions": {"diagnosticsDelay": 0.01, "watchInterval": 0.1}})
        self.notify("initialized", {})

    def wait_for(self, method: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.notifications:
                if message["method"] == method:
                    return message
            self.request("gitexp/runs", {"limit": 0})  # a round trip lets notifications arrive
            time.sleep(0.05)
        raise AssertionError(f"no {method} within {timeout} s")

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


EVIL_PY = """\
import argparse, pathlib
pathlib.Path(__file__).with_name("pwned").write_text("ran at import")
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
p.add_argument("--depth", type=int)
p.parse_args()
"""


def test_language_server_never_runs_the_script_it_reads(repo):
    repo.write("evil.py", EVIL_PY)
    sweep = repo.write("s.yml", "CMD: python evil.py\nHPARAMS:\n  lr: [0.1]\n  nosuchflag: [1]\n  \n")
    client = LspClient(repo.path)
    try:
        client.start(repo.path)
        uri = sweep.as_uri()
        client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1,
                                                                "text": sweep.read_text()}})
        diagnostics = client.wait_for("textDocument/publishDiagnostics")
        assert any("nosuchflag" in d["message"] for d in diagnostics["params"]["diagnostics"])
        completion = client.request("textDocument/completion", {"textDocument": {"uri": uri},
                                                                "position": {"line": 4, "character": 2}})
        result = completion["result"]
        items = result["items"] if isinstance(result, dict) else result
        assert "depth" in {item["label"].lstrip("-") for item in items}
        client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 1}})
        client.request("workspace/executeCommand", {"command": "gitexp.dryRun", "arguments": [uri]})
    finally:
        client.close()
    repo.gitexp("run", "-n", "s.yml")  # the CLI's unknown-flag warning reads the script the same way
    assert not (repo.path / "pwned").exists()


@pytest.mark.parametrize("address", ["0.0.0.0:2087", "[::]:2087", "8.8.8.8:2087", "example.invalid:1", "2087"])
def test_lsp_refuses_non_loopback_addresses(repo, address):
    proc = repo.gitexp("lsp", "--tcp", address, check=False, timeout=30)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("gitexp: error: --tcp") and len(proc.stderr.strip().splitlines()) == 1


def _listening(port: int) -> set[str]:
    """Local addresses listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
@pytest.mark.parametrize("command", [["lsp", "--tcp", "127.0.0.1:{port}"], ["tensorboard", "--port", "{port}"]])
def test_servers_listen_on_loopback_only(repo, command):
    port = _free_port()
    if command[0] == "tensorboard":
        repo.write("s.yml", "CMD: python train.py\nHPARAMS:\n  lr: [0.1]\n")
        repo.gitexp("run", "s.yml")
    proc = subprocess.Popen([sys.executable, "-m", "gitexp", *(c.format(port=port) for c in command)], cwd=repo.path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **GIT_ENV},
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _listening(port) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert _listening(port) == {"0100007F"}  # 127.0.0.1, nothing else
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()
