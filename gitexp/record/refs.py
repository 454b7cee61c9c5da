"""Every ref name gitexp uses, in one place.

    refs/experiments/<sweep>/<run>   -> run commit R (R^1 = snapshot S, S^1 = user's HEAD)
    refs/gitexp/tmp/<pid>-<n>        -> scratch ref used only while fast-import writes commits
    refs/gitexp/incoming/<remote>/.. -> what `gitexp pull` fetched, before it is merged in
    refs/gitexp/origin/<remote>/<sweep>/<run> -> the commit a pulled run arrived as

Sweep and run names are restricted to [A-Za-z0-9._-] so a ref name never needs quoting and
`<sweep>/<run>` is unambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitexp.errors import GitexpError

EXPERIMENTS = "refs/experiments/"
TMP_PREFIX = "refs/gitexp/tmp/"
INCOMING_PREFIX = "refs/gitexp/incoming/"
ORIGIN_PREFIX = "refs/gitexp/origin/"
_VALID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
MAX_NAME = 120


def sanitize(text: str) -> str:
    """Turn arbitrary text into a valid sweep/run name component (deterministic)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text)
    name = re.sub(r"\.{2,}", ".", name)  # git forbids '..'
    name = name.strip("._-") or "run"
    if name.endswith(".lock"):
        name = name[: -len(".lock")] + "_lock"
    if len(name) > MAX_NAME:
        import hashlib  # here, not at the top: OpenSSL's load is a tenth of a `gitexp show`

        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        name = name[: MAX_NAME - 9].rstrip("._-") + "-" + digest
    return name


def check_name(name: str, what: str) -> str:
    if not _VALID.match(name) or ".." in name or name.endswith(".lock") or len(name) > 200:
        raise GitexpError(f"invalid {what} name {name!r}: use letters, digits, '.', '_' and '-'")
    return name


@dataclass(frozen=True, order=True)
class RunRef:
    """The address of one run: `<sweep>/<run>`."""

    sweep: str
    name: str

    @property
    def ref(self) -> str:
        return f"{EXPERIMENTS}{self.sweep}/{self.name}"

    @property
    def id(self) -> str:
        return f"{self.sweep}/{self.name}"

    def __str__(self) -> str:
        return self.id

    @classmethod
    def from_ref(cls, ref: str) -> "RunRef | None":
        if not ref.startswith(EXPERIMENTS):
            return None
        rest = ref[len(EXPERIMENTS):]
        sweep, sep, name = rest.partition("/")
        if not sep or not sweep or not name or "/" in name:
            return None
        return cls(sweep, name)

    @classmethod
    def parse(cls, text: str) -> "RunRef":
        sweep, sep, name = text.partition("/")
        if not sep:
            raise GitexpError(f"{text!r} is not of the form <sweep>/<run>")
        return cls(check_name(sweep, "sweep"), check_name(name, "run"))
