"""parse_series reads well-formed metrics.jsonl in one go: it must give exactly what reading each
line alone gives, for every kind of content a crashed writer, a full disk or a hand edit leaves."""

from __future__ import annotations

import json
import random

import pytest

from gitexp.record import model


def line_by_line(data: bytes) -> list:
    """The reference: each line alone, its valid tail when it is torn (the reader's contract)."""
    return model._line_by_line(model.escape_surrogates(data))


def same(data: bytes) -> list:
    got = model.parse_series(data)
    expected = line_by_line(data)
    assert json.dumps(got) == json.dumps(expected), data  # NaN == NaN, types and key order compared
    return got


POINT = b'{"step": 3, "key": "loss", "value": 0.25, "time": 1700000000.5}'

# Content where an array of the lines parses although a line alone does not (or not the same):
# an object spanning two lines, two objects on one line, a `{` inside a string.
SPLICES = [
    [b'{"key": "a"},{"key": "b", "v": [{}', b'{}]}'],
    [b'{"key": "a"},{"key": "b"', b'"x": 1}'],
    [b'{"key": "a"},"', b'{"'],
    [b'{"key": "a", "v": [1', b'2]}'],
    [b'{"key": "a"}, {"key": "b"}', b'{"key": "c"}'],
    [b'{"key": "a", "v": "{"}', b'{"key": "b"}'],
]


@pytest.mark.parametrize("lines", SPLICES)
def test_an_object_across_or_beside_a_line_end_reads_as_each_line_alone(lines):
    got = same(b"\n".join(lines) + b"\n")
    assert [p["key"] for p in got] == [p["key"] for p in line_by_line(b"\n".join(lines))]


def test_values_keys_and_odd_lines():
    data = b"\n".join([
        POINT,
        b'{"step": 4, "key": "acc", "value": NaN}',
        b'{"step": 5, "key": "acc", "value": Infinity, "time": "2026-12-01T10:00:00+00:00"}',
        b'{"step": 6, "key": "note", "value": "text"}',
        b'{"step": 7, "key": 7, "value": 1}',      # key not text: no point
        b'{"step": 8, "value": 1}',                # no key
        b'{"step": 9, "key": "h", "value": [1, 2]}',
        b'{"step": 10, "key": "lone", "value": "\\udcff"}',  # shown escaped
    ]) + b"\n"
    got = same(data)
    assert [p["step"] for p in got] == [3, 4, 5, 6, 9, 10]
    assert got[1]["value"] != got[1]["value"] and got[2]["value"] == float("inf")
    assert got[-1]["value"] == "\\udcff"


def test_a_torn_last_line_keeps_every_whole_point_before_it():
    whole = [POINT.replace(b'"step": 3', b'"step": %d' % i) for i in range(50)]
    got = same(b"\n".join(whole) + b'\n{"step": 50, "key": "lo')
    assert len(got) == 50
    got = same(b"\n".join(whole[:10]) + b'\n{"step": 50, "ke' + POINT + b"\n" + b"\n".join(whole[10:]))
    assert len(got) == 51  # the torn line's valid tail is a point too


@pytest.mark.parametrize("data", [b"", b"\n", b"\n\n", b"\r\n", POINT, POINT + b"\r\n" + POINT, b"\xef\xbb\xbf" + POINT,
                                  b"{\x00\"\x00", POINT + b"\n\n" + POINT, b"  " + POINT, POINT + b"  \t",
                                  POINT.replace(b"loss", b"l\xffss"), b"{}", b"{}\n[]\n5\nnull\n"])
def test_edge_content(data):
    same(data)


FRAGMENTS = [POINT, b'{"key": "a"}', b'{"key": 1}', b"{}", b"[]", b"7", b'"s"', b"null", b"", b" ", b"{", b"}",
             b"[", b"]", b",", b'{"', b'"key": "b"}', b'{"key": "c", "v": [', b"1]}", b"\xff", b"\r", b"\t",
             b'{"key": "d", "v": "{\\"x\\"}"}', b'{"key": "e", "v": "}"}', b"NaN", b'{"key": "f", "v": NaN}']


def test_random_content_reads_as_each_line_alone():
    rng = random.Random(16)
    for _ in range(3000):
        parts = [rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 8))]
        glue = [rng.choice([b"\n", b"\n", b",", b""]) for _ in parts]
        same(b"".join(part + sep for part, sep in zip(parts, glue)))


def test_whole_points_are_read_in_one_go():
    """The fast path is taken for what writers write (else this change bought nothing)."""
    data = b"".join(POINT + b"\n" for _ in range(100))
    assert model._in_one_go(data) is not None
    assert len(model.parse_series(data)) == 100
