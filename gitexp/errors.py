"""The one error family gitexp raises on purpose.

Only the CLI entry point (and the language server) catch `GitexpError`; they print its
message as a single line and exit with `exit_code`. Anything else escaping is a bug and
keeps its traceback. Messages say what is wrong, where, and when possible how to fix it.
"""

from __future__ import annotations


class GitexpError(Exception):
    """Base class: a problem the user can act on. Exit code 2 = bad input."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} ({self.hint})" if self.hint else message


class NotARepoError(GitexpError):
    """The working directory is not inside a git work tree."""


class GitCommandError(GitexpError):
    """A git plumbing command failed in a way we did not expect. Exit code 1: not the user's input."""

    exit_code = 1


class RefLockError(GitCommandError):
    """git could not take one ref's lock (a full disk, another git holding it): nothing moved; try again."""


class SweepError(GitexpError):
    """A sweep file (or --set / --sweep override) is invalid; carries file:line:col in the message."""


class RunNotFoundError(GitexpError):
    """A RUN argument matched no recorded run (or matched several)."""


class RefConflictError(GitexpError):
    """A ref changed behind our back: an old-value check refused the update; nothing was overwritten."""

    exit_code = 1


class RunRecordError(GitexpError):
    """A run ref points at something that is not a run record (a blob, a commit with no snapshot)."""


class QueryError(GitexpError):
    """A SQL query failed or tried something a read-only query may not do."""


class IndexPathError(QueryError):
    """Something other than gitexp's index file (a folder, a FIFO) sits where the index goes."""


class QueryInterrupted(QueryError):
    """The user pressed Ctrl-C while a query ran; DuckDB was told to stop."""

    exit_code = 130


class WorkspaceError(GitexpError):
    """An operation would overwrite the user's uncommitted work, so it was refused."""
