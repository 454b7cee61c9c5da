"""Tags and stars on runs: `run.json["tags"]`, a {name: value} object, written as a new
record commit on the run's ref (a fast-forward, with an old-value check), so `push` and
`pull` carry tags like the rest of the record and queries see them as the `tags` column.

A live run is refused: its scheduler rewrites run.json from its own folder and would
drop the tag (and its next ref move would be refused). Tag it once it ends.
"""

from __future__ import annotations

import math
import re
from typing import Any

from gitexp.errors import GitexpError
from gitexp.record import recorder, store
from gitexp.record.git import Git

_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
STAR = "star"


def check_tag(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > 100:
        raise GitexpError(f"invalid tag name {name!r}: use letters, digits, '.', '_' and '-'")
    return name


def tag_value(text: str | None) -> Any:
    """`name` -> True, `name=3` -> 3, `name=0.1` -> 0.1, `name=low` -> 'low'."""
    if text is None:
        return True
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def parse_tags(words: list[str]) -> dict[str, Any]:
    """`name[=value]` arguments -> {name: value}; a bad name fails before anything is written."""
    tags = {}
    for word in words:
        name, sep, value = word.partition("=")
        tags[check_tag(name)] = tag_value(value if sep else None)
    return tags


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise GitexpError(f"tag value {value!r}: use a string, a number or true")


def tags_of(info: dict[str, Any]) -> dict[str, Any]:
    tags = info.get("tags")
    return dict(tags) if isinstance(tags, dict) else {}


def set_tags(git: Git, text: str, add: dict[str, Any] | None = None, remove: list[str] | None = None) -> tuple[str, dict[str, Any]]:
    """Set and remove tags of one run; returns (run id, its tags now). Unchanged tags write nothing."""
    add = {check_tag(k): _clean(v) for k, v in (add or {}).items()}
    remove = [check_tag(k) for k in remove or []]
    ref, commit = store.resolve(git, text)
    with git.cat_file() as cat:
        run = store.load_run(git, cat, ref, commit)
    if run.status in ("running", "queued") or run.live:
        raise GitexpError(f"{run.id}: still {run.status}; tag it when it ends")
    tags = tags_of(run.info)
    new = {k: v for k, v in {**tags, **add}.items() if k not in remove}
    if new == tags:
        return run.id, tags
    info = {**run.info, "tags": new}
    if not new:
        info.pop("tags")
    words = " ".join([*(f"+{k}" for k in add), *(f"-{k}" for k in remove)])
    recorder.restamp(git, run, info, f"gitexp: {run.id} tags {words}")
    return run.id, new
