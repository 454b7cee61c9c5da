"""`gitexp/kill`, `gitexp/delete` and `gitexp/tag`: act on several runs, reporting each one's outcome.

One bad name must not stop the others, so runs are resolved and handled one at a time and
the answer lists what was done and what failed (with the one-line reason).
"""

from __future__ import annotations

from typing import Any, Callable

from gitexp.errors import GitexpError
from gitexp_lsp.base import GitexpServer
from gitexp_lsp.browse import strings


KILL_WAIT = 10.0  # seconds a kill waits for the scheduler to record the run as stopped


class Manage:
    def __init__(self, server: GitexpServer):
        self.server = server

    def _target(self, params: dict[str, Any], method: str) -> tuple[Any, list[str]]:
        """The repository (`folder`) and the runs (`runs`, at least one) a request names."""
        folder = params.get("folder")
        git = self.server.repos.get(folder if isinstance(folder, str) else None)[1]
        runs = strings(params, "runs", method)
        if not runs:
            raise GitexpError(f"{method}: param 'runs' must name at least one run")
        return git, runs

    def _each(self, params: dict[str, Any], method: str, act: Callable[[Any, str], list[str]]) -> dict[str, Any]:
        git, runs = self._target(params, method)
        done, errors = [], []
        for run in runs:
            try:
                done += act(git, run)
            except GitexpError as error:
                errors.append({"run": run, "message": str(error)})
        return {"done": done, "errors": errors}

    def delete(self, params: dict[str, Any]) -> dict[str, Any]:
        from gitexp import manage
        from gitexp.record import view

        return self._each(params, "gitexp/delete",
                          lambda git, run: [str(ref) for ref in manage.rm(git, view.resolve_many(git, [run]))])

    def tag(self, params: dict[str, Any]) -> dict[str, Any]:
        """Set (`set`: {name: value}) and remove (`remove`: [name]) tags; names checked first,
        so a bad name writes nothing on any run."""
        from gitexp.record import tags

        method = "gitexp/tag"
        add = params.get("set") or {}
        if not isinstance(add, dict):
            raise GitexpError(f"{method}: param 'set' must be an object of tag name -> value")
        remove = strings(params, "remove", method)
        for name in [*add, *remove]:
            tags.check_tag(name)
        return self._each(params, method, lambda git, run: [tags.set_tags(git, run, add, remove)[0]])

    def kill(self, params: dict[str, Any]) -> dict[str, Any]:
        """Each name is resolved on its own (a bad one is reported, the others still stop), then
        every stop is requested at once and waited for once (`control.stop`)."""
        from gitexp.run import control

        git, runs = self._target(params, "gitexp/kill")
        live, errors = [], []
        for run in runs:
            try:
                live += [ref for ref in control.live_targets(git, [run]) if ref not in live]
            except GitexpError as error:
                errors.append({"run": run, "message": str(error)})
        if not live:
            return {"done": [], "errors": errors}
        result = control.stop(git, live, wait=KILL_WAIT)
        errors += [{"run": run, "message": f"{run} did not stop within {KILL_WAIT:g} s (its scheduler may be busy; try again)"}
                   for run in result.still_live]
        return {"done": list(result.stopped), "errors": errors}


def setup(server: GitexpServer) -> None:
    feature = Manage(server)
    server.custom_request("gitexp/delete", feature.delete)
    server.custom_request("gitexp/kill", feature.kill)
    server.custom_request("gitexp/tag", feature.tag)
