"""The language server class: how a feature plugs in, and the rules every feature gets for free.

- Handlers run off the event loop (a small thread pool), so git and DuckDB never stall typing;
  everything sent to the client is sent from the loop's thread.
- A custom request that fails on bad input answers an LSP error (-32602) carrying the
  one-line `GitexpError` message; an unexpected failure answers -32603 and is logged.
- A standard LSP feature (hover, completion, ...) that fails is logged and answers nothing:
  one broken feature never takes the others, or the server, down.
- Several features may listen to the same notification (didChange, initialized, ...).
"""

from __future__ import annotations

import asyncio
import logging
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from gitexp.errors import GitexpError
from gitexp_lsp.options import Options
from gitexp_lsp.repos import Repos

log = logging.getLogger(__name__)


def _converter():
    """pygls' converter, but custom requests keep their params as plain JSON objects.

    (By default pygls turns unknown params into namedtuples, which mangles keys that are not
    Python identifiers.)"""
    from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, default_converter

    converter = default_converter()
    for cls in (JsonRPCRequestMessage, JsonRPCNotification):
        converter.register_structure_hook(cls, lambda obj, cls: cls(**obj))
    return converter


def jsonable(value: Any) -> Any:
    """Plain JSON for the client: NaN/inf become strings (JSON.parse rejects them), other
    values (dates, decimals) their text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)


class GitexpServer(LanguageServer):
    def __init__(self, name: str, version: str):
        super().__init__(name, version, converter_factory=_converter)
        self.options = Options()
        self.repos = Repos()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gitexp-lsp")
        self._listeners: dict[str, list[Callable[[Any], None]]] = {}
        self.generations: dict[str, int] = {}  # folder URI -> bumped whenever its runs change
        self.warm: set[str] = set()  # folder URIs whose index has been built since the server started

    def runs_changed(self, folder: str) -> None:
        """Called by the watcher: answers cached for `folder` are stale from now on."""
        self.generations[folder] = self.generations.get(folder, 0) + 1

    # -- registration ------------------------------------------------------------------
    def custom_request(self, method: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        """A `gitexp/...` request: `handler(params dict)` runs in the pool and returns JSON data."""
        async def run(params: Any) -> Any:
            plain = params if isinstance(params, dict) else {}
            try:
                return jsonable(await self.off_loop(handler, plain))
            except GitexpError as error:
                raise JsonRpcInvalidParams(message=str(error), data={"error": type(error).__name__}) from None
            except Exception as error:
                log.exception("%s failed", method)
                raise JsonRpcInternalError(message=f"{method} failed: {error}") from None

        self.feature(method)(run)

    def lsp_request(self, method: str, handler: Callable[[Any], Any], options: Any = None) -> None:
        """A standard request (hover, completion, ...): failures are logged and answer None."""
        async def run(params: Any) -> Any:
            try:
                return await self.off_loop(handler, params)
            except Exception:
                log.exception("%s failed", method)
                return None

        self.feature(method, options)(run)

    def listen(self, method: str, handler: Callable[[Any], None]) -> None:
        """Call `handler(params)` on the loop for a notification; several handlers may listen."""
        if method not in self._listeners:
            self._listeners[method] = []

            def dispatch(params: Any) -> None:
                for each in self._listeners[method]:
                    try:
                        each(params)
                    except Exception:
                        log.exception("handling %s failed", method)

            self.feature(method)(dispatch)
        self._listeners[method].append(handler)

    def add_command(self, name: str, handler: Callable[..., Any]) -> None:
        """A `workspace/executeCommand` command; `handler(*arguments)` runs in the pool."""
        async def run(*arguments):  # unannotated: pygls structures arguments by annotation
            try:
                return jsonable(await self.off_loop(handler, *arguments))
            except GitexpError as error:
                raise JsonRpcInvalidParams(message=str(error)) from None

        self.command(name)(run)

    # -- running and sending -------------------------------------------------------------
    async def off_loop(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def send_from_thread(self, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn` (which sends something) on the loop's thread."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

    def notice(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """An actionable message for the user (from the loop's thread)."""
        log.warning("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"gitexp: {message}"))
