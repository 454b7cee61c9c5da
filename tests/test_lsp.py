"""`gitexp lsp` end to end: a real pytest-lsp client over stdio against temporary repositories.

Runs are recorded in the documented format (tests/recordgen.py) or launched with the real
`gitexp run`; the server is the real `python -m gitexp lsp` process.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

import recordgen
from conftest import GIT_ENV
from recordgen import Record

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "gitexp", "lsp"])

SWEEP = """\
CMD: python train.py
HPARAMS:
  lr: [0.1, 0.01]
  sleep: 0
"""


def _records() -> list[Record]:
    def curve(lr: float) -> list[dict]:
        return [{"step": s, "key": "loss", "value": lr / (s + 1), "time": 1.0 + s} for s in range(3)]

    return [
        Record("quick", "lr0.1", {"lr": 0.1, "sleep": 0}, {"acc": 0.9, "loss": 0.03}, curve(0.1)),
        Record("quick", "lr0.01", {"lr": 0.01, "sleep": 0}, {"acc": 0.7, "loss": 0.01}, curve(0.01)),
        Record("quick", "lr0.01-2", {"lr": 0.01, "sleep": 0}, {"acc": 0.8, "loss": 0.02}, curve(0.01)),
        Record("other", "baseline", {"lr": 0.5}, {"acc": 0.5}, status="failed"),
    ]


@pytest.fixture
def workspace(repo):
    """The shared test repo (train.py with argparse) plus recorded runs and a sweep file."""
    recordgen.write(repo.path, _records())
    repo.write("quick.yml", SWEEP)
    return repo


async def _start(client: LanguageClient, folders: list[Path], options: dict | None = None) -> None:
    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        workspace_folders=[types.WorkspaceFolder(uri=from_fs_path(str(f)), name=f.name) for f in folders],
        initialization_options={"watchInterval": 0.1, "debounce": 0.1, "diagnosticsDelay": 0.05, **(options or {})},
    ))


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, workspace):
    await _start(lsp_client, [workspace.path])
    yield
    await lsp_client.shutdown_session()


async def request(client: LanguageClient, method: str, params: dict):
    return await client.protocol.send_request_async(method, params)


async def until(check, timeout: float = 30.0):
    """Poll `check()` until it returns something truthy (a hang fails the test, not a slow box)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.05)


def _open(client: LanguageClient, path: Path, text: str) -> str:
    uri = from_fs_path(str(path))
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=text)))
    return uri


def _replace(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


# -- custom requests ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_runs_pages_filters_and_sorts(client: LanguageClient):
    everything = await request(client, "gitexp/runs", {})
    assert everything.total == 4
    assert {r.run for r in everything.runs} == {"quick/lr0.1", "quick/lr0.01", "quick/lr0.01-2", "other/baseline"}
    first = everything.runs[0]
    assert {"run", "sweep", "name", "status", "created", "params", "metrics"} <= set(first._fields)
    assert [(s.sweep, s.runs) for s in everything.sweeps] == [("other", 1), ("quick", 3)]

    by_acc = await request(client, "gitexp/runs", {"sort": "acc", "descending": True, "limit": 2, "offset": 1})
    assert by_acc.total == 4 and by_acc.offset == 1
    assert [r.run for r in by_acc.runs] == ["quick/lr0.01-2", "quick/lr0.01"]

    failed = await request(client, "gitexp/runs", {"filter": "FAILED"})
    assert [r.run for r in failed.runs] == ["other/baseline"]
    one_sweep = await request(client, "gitexp/runs", {"sweep": "quick"})
    assert one_sweep.total == 3


@pytest.mark.asyncio
async def test_run_file_diff_and_series(client: LanguageClient, workspace):
    run = await request(client, "gitexp/run", {"run": "quick/lr0.1"})
    assert run.status == "completed" and run.params.lr == 0.1 and run.metrics.acc == 0.9
    assert run.snapshot and run.commit and isinstance(run.files, list)

    file = await request(client, "gitexp/file", {"run": "lr0.1", "path": "train.py"})
    assert file.exists and file.content == (workspace.path / "train.py").read_text()
    missing = await request(client, "gitexp/file", {"run": "lr0.1", "path": "nope.py"})
    assert not missing.exists

    diff = await request(client, "gitexp/diff", {"a": "quick/lr0.1", "b": "quick/lr0.01"})
    params = {row.key: row for row in diff.params}
    assert params["lr"].a == 0.1 and params["lr"].b == 0.01 and params["lr"].changed
    assert not params["sleep"].changed
    assert diff.files == []  # same snapshot

    series = await request(client, "gitexp/series", {"runs": ["quick/lr0.1", "quick/lr0.01"], "keys": ["loss"]})
    curves = {(s.run, s.key): s.points for s in series.series}
    assert curves[("quick/lr0.1", "loss")] == [[0, 0.1], [1, 0.05], [2, 0.1 / 3]]
    assert set(curves) == {("quick/lr0.1", "loss"), ("quick/lr0.01", "loss")}


@pytest.mark.asyncio
async def test_query_answers_rows_and_sql_errors_as_lsp_errors(client: LanguageClient):
    result = await request(client, "gitexp/query", {"sql": "select run, acc order by acc desc", "limit": 2})
    assert result.columns == ["run", "acc"]
    assert result.rows == [["quick/lr0.1", 0.9], ["quick/lr0.01-2", 0.8]]
    assert result.truncated is True

    with pytest.raises(JsonRpcException) as bad:
        await request(client, "gitexp/query", {"sql": "select nosuchcolumn"})
    assert bad.value.code == -32602
    assert "nosuchcolumn" in bad.value.message
    # the server is still there
    assert (await request(client, "gitexp/runs", {"limit": 1})).total == 4


@pytest.mark.asyncio
async def test_unknown_run_and_bad_params_are_errors(client: LanguageClient):
    with pytest.raises(JsonRpcException) as unknown:
        await request(client, "gitexp/run", {"run": "quick/nope"})
    assert unknown.value.code == -32602 and "quick/nope" in unknown.value.message
    with pytest.raises(JsonRpcException) as missing:
        await request(client, "gitexp/diff", {"a": "quick/lr0.1"})
    assert "'b'" in missing.value.message
    with pytest.raises(JsonRpcException):
        await request(client, "gitexp/runs", {"limit": -1})


@pytest.mark.asyncio
async def test_delete_reports_each_run(client: LanguageClient, workspace):
    result = await request(client, "gitexp/delete", {"runs": ["quick/lr0.01-2", "quick/ghost"]})
    assert result.done == ["quick/lr0.01-2"]
    assert [e.run for e in result.errors] == ["quick/ghost"]
    assert "refs/experiments/quick/lr0.01-2" not in workspace.refs()
    assert (await request(client, "gitexp/runs", {})).total == 3


# -- sweep files ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_diagnostics_appear_and_clear_as_the_text_changes(client: LanguageClient, workspace):
    bad = SWEEP.replace("  sleep: 0\n", "  sleep: 0\n  nosuchflag: [1, 2]\n")
    uri = _open(client, workspace.path / "quick.yml", bad)
    diagnostics = await until(lambda: client.diagnostics.get(uri))
    [warning] = [d for d in diagnostics if "nosuchflag" in d.message]
    assert warning.severity == types.DiagnosticSeverity.Warning
    assert warning.range.start == types.Position(line=4, character=2)
    assert warning.range.end == types.Position(line=4, character=12)

    _replace(client, uri, 2, "CMD: python train.py\nHPARAMS: [")  # half-written
    broken = await until(lambda: [d for d in client.diagnostics.get(uri, []) if "YAML" in d.message])
    assert broken[0].severity == types.DiagnosticSeverity.Error

    _replace(client, uri, 3, SWEEP)
    await until(lambda: len(client.diagnostics[uri]) == 0)


@pytest.mark.asyncio
async def test_hover_shows_past_values_and_run_count(client: LanguageClient, workspace):
    uri = _open(client, workspace.path / "quick.yml", SWEEP)
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=2, character=3)))
    text = hover.contents.value
    assert "2 value(s) tried in 3 run(s)" in text
    assert "| `0.1` | 1 | 0.9 (`lr0.1`) |" in text  # best acc, higher is better
    assert "| `0.01` | 2 | 0.8 (`lr0.01-2`) |" in text

    on_cmd = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=1)))
    assert "**2 run(s)**" in on_cmd.contents.value

    nothing = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=2, character=10)))
    assert nothing is None


@pytest.mark.asyncio
async def test_completion_offers_top_keys_and_script_flags(client: LanguageClient, workspace):
    uri = _open(client, workspace.path / "quick.yml", SWEEP + "\n")
    top = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=4, character=0)))
    labels = {item.label for item in top.items}
    assert {"OVERRIDES", "METRICS"} <= labels and "CMD" not in labels  # CMD is already there

    _replace(client, uri, 2, SWEEP + "  l\n")
    flags = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=4, character=3)))
    by_label = {item.label: item for item in flags.items}
    assert {"fail", "logdir"} <= set(by_label)
    assert "lr" not in by_label and "sleep" not in by_label  # already set in this mapping

    _replace(client, uri, 3, "CMD: python train.py\nHPARAMS:\n  sleep: 0\n  l\n")
    flags = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=3, character=3)))
    by_label = {item.label: item for item in flags.items}
    assert {"lr", "fail", "logdir"} <= set(by_label) and "sleep" not in by_label
    assert by_label["lr"].detail.startswith("--lr float default 0.1")


@pytest.mark.asyncio
async def test_code_lens_and_its_commands(client: LanguageClient, workspace):
    uri = _open(client, workspace.path / "quick.yml", SWEEP)
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert [lens.command.title for lens in lenses] == ["Run sweep (2 runs)", "Dry run"]
    assert lenses[0].range.start.line == 0

    run = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=lenses[0].command.command, arguments=lenses[0].command.arguments))
    assert run["command"] == "gitexp run quick.yml" and run["cwd"] == str(workspace.path)
    dry = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="gitexp.dryRun", arguments=[uri]))
    assert dry["command"] == "gitexp run -n quick.yml"


@pytest.mark.asyncio
async def test_document_symbols_nest_params_in_sections(client: LanguageClient, workspace):
    uri = _open(client, workspace.path / "quick.yml", SWEEP)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert [s.name for s in symbols] == ["CMD", "HPARAMS"]
    hparams = symbols[1]
    assert [(c.name, c.detail) for c in hparams.children] == [("lr", "[0.1, 0.01]"), ("sleep", "0")]


@pytest.mark.asyncio
async def test_plain_yaml_gets_no_sweep_features(client: LanguageClient, workspace):
    uri = _open(client, workspace.path / "config.yml", "name: x\nitems: [1, 2]\n")
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    assert not lenses
    assert uri not in client.diagnostics


# -- live updates ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.asyncio
async def test_runs_changed_is_sent_when_a_run_finishes(client: LanguageClient, workspace):
    seen: list = []
    client.protocol.fm.features.pop("gitexp/runsChanged", None)
    client.feature("gitexp/runsChanged")(lambda params: seen.append(params))
    workspace.write("one.yml", "CMD: python train.py\nHPARAMS:\n  lr: 0.5\n")
    await asyncio.to_thread(workspace.gitexp, "run", "one.yml")  # the real launcher, in a subprocess

    async def finished() -> bool:
        if not any("one/" in " ".join(p.runs) for p in seen):
            return False
        runs = await request(client, "gitexp/runs", {"sweep": "one"})
        return runs.total == 1 and runs.runs[0].status == "completed"

    deadline = asyncio.get_running_loop().time() + 30
    while not await finished():
        assert asyncio.get_running_loop().time() < deadline, f"no runsChanged for the run: {seen}"
        await asyncio.sleep(0.1)
    assert all(p.folder == from_fs_path(str(workspace.path)) for p in seen)


# -- robustness -----------------------------------------------------------------------


@pytest.fixture
def folders(tmp_path, workspace):
    plain = tmp_path / "not-a-repo"
    plain.mkdir()
    return [plain, workspace.path]


@pytest_lsp.fixture(config=SERVER)
async def odd_client(lsp_client: LanguageClient, folders):
    await _start(lsp_client, folders, {"watchInterval": -1, "bogus": True})
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_bad_folder_and_options_do_not_stop_the_server(odd_client: LanguageClient, folders):
    notices = await until(lambda: [m.message for m in odd_client.messages])
    assert any("watchInterval" in m and "using 0.5" in m for m in notices)
    assert any("bogus" in m for m in notices)

    with pytest.raises(JsonRpcException) as no_repo:
        await request(odd_client, "gitexp/runs", {})  # the first folder is not a repository
    assert "not inside a git repository" in no_repo.value.message

    second = await request(odd_client, "gitexp/runs", {"folder": from_fs_path(str(folders[1]))})
    assert second.total == 4


@pytest.mark.asyncio
async def test_kill_of_a_finished_run_is_reported_not_raised(client: LanguageClient):
    result = await request(client, "gitexp/kill", {"runs": ["quick/lr0.1"]})
    assert result.done == []
    assert result.errors[0].run == "quick/lr0.1" and "not running" in result.errors[0].message


@pytest.mark.slow
@pytest.mark.asyncio
async def test_kill_stops_a_live_run(client: LanguageClient, workspace):
    workspace.write("long.yml", "CMD: python train.py\nHPARAMS:\n  sleep: 60\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gitexp", "run", "long.yml", cwd=workspace.path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, env={**os.environ, **GIT_ENV})
    try:
        async def running() -> bool:
            runs = await request(client, "gitexp/runs", {"sweep": "long"})
            return runs.total == 1 and runs.runs[0].status == "running"

        deadline = asyncio.get_running_loop().time() + 30
        while not await running():
            assert asyncio.get_running_loop().time() < deadline, "the run never started"
            await asyncio.sleep(0.1)
        result = await request(client, "gitexp/kill", {"runs": ["long"]})
        assert result.done == ["long/sleep60"] and result.errors == []
        assert (await request(client, "gitexp/run", {"run": "long/sleep60"})).status == "cancelled"
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


@pytest.mark.slow
@pytest.mark.asyncio
async def test_kill_of_several_runs_stops_them_together(client: LanguageClient, workspace):
    """The table's Kill on a running run and the queued one after it: both end cancelled, and
    the queued one never starts (stopped one by one, the scheduler would start it in the gap)."""
    from gitexp.record import view
    from gitexp.record.git import open_repo

    workspace.write("pair.yml", "CMD: python train.py\nHPARAMS:\n  sleep: [60, 61]\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gitexp", "run", "pair.yml", "--jobs", "1", cwd=workspace.path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, env={**os.environ, **GIT_ENV})
    try:
        async def one_running_one_queued() -> bool:
            runs = await request(client, "gitexp/runs", {"sweep": "pair"})
            return sorted(run.status for run in runs.runs) == ["queued", "running"]

        deadline = asyncio.get_running_loop().time() + 30
        while not await one_running_one_queued():
            assert asyncio.get_running_loop().time() < deadline, "the sweep never started"
            await asyncio.sleep(0.1)
        result = await request(client, "gitexp/kill", {"runs": ["pair/sleep60", "pair/sleep61", "quick/lr0.1"]})
        assert sorted(result.done) == ["pair/sleep60", "pair/sleep61"]
        assert [error.run for error in result.errors] == ["quick/lr0.1"]  # not live: reported, not raised
        git = open_repo(workspace.path)
        first, second = (view.load_one(git, run) for run in ("pair/sleep60", "pair/sleep61"))
        assert (first.status, second.status) == ("cancelled", "cancelled")
        assert second.info.get("started") is None
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


SEARCH_SWEEP = """\
CMD: python train.py
HPARAMS:
  lr: loguniform(1e-4, 1e-1)
SEARCH:
  sampler: tpe
  trials: 12
  objective: acc
  direction: max
PRUNE: {pruner: asha, metric: acc}
"""


@pytest.mark.asyncio
async def test_search_keys_have_diagnostics_hover_and_completion(client: LanguageClient, workspace):
    bad = SEARCH_SWEEP.replace("sampler: tpe", "sampler: bayes").replace("direction: max", "direction: up")
    uri = _open(client, workspace.path / "search.yml", bad.replace("trials: 12", "trials: 0"))
    diagnostics = await until(lambda: client.diagnostics.get(uri))
    by_line = {d.range.start.line: d for d in diagnostics}
    assert "unknown sampler 'bayes'" in by_line[4].message and by_line[4].range.start.character == 11
    assert "trials: expected a positive integer" in by_line[5].message
    assert "direction: expected max or min" in by_line[7].message
    _replace(client, uri, 2, SEARCH_SWEEP.replace("sampler: tpe", "sampler: grid"))
    grid = await until(lambda: [d for d in client.diagnostics.get(uri, []) if "grid sampler" in d.message])
    assert grid[0].range.start.line == 2  # the range a grid cannot take
    _replace(client, uri, 3, SEARCH_SWEEP)
    await until(lambda: len(client.diagnostics[uri]) == 0)

    def at(line, character):
        return {"text_document": types.TextDocumentIdentifier(uri=uri),
                "position": types.Position(line=line, character=character)}

    hover = await client.text_document_hover_async(types.HoverParams(**(at(4, 12))))
    assert "Tree-structured Parzen Estimator" in hover.contents.value
    on_section = await client.text_document_hover_async(types.HoverParams(**(at(3, 2))))
    assert "`trials`" in on_section.contents.value and "`direction`" in on_section.contents.value
    on_cmd = await client.text_document_hover_async(types.HoverParams(**(at(0, 1))))
    assert "**12 run(s)**" in on_cmd.contents.value

    _replace(client, uri, 4, SEARCH_SWEEP.replace("  sampler: tpe\n", "  sampler: \n  se\n"))
    samplers = await client.text_document_completion_async(types.CompletionParams(**(at(4, 11))))
    assert {i.label for i in samplers.items} == {"tpe", "gp", "cmaes", "random", "grid"}
    keys = await client.text_document_completion_async(types.CompletionParams(**(at(5, 4))))
    assert {"seed", "objective", "trials"} <= {i.label for i in keys.items}
    top = await client.text_document_completion_async(types.CompletionParams(**(at(9, 0))))
    assert "SEARCH" not in {i.label for i in top.items}
