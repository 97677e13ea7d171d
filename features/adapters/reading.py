"""Streaming records out of vendor exports: JSON lines, JSON arrays, JSON objects one after
another or wrapping an array (Graph `value`, CloudTrail `Records`), CSV or Parquet; plain or
gzip. Nothing is loaded whole.

A JSON line or item that is no object (`null`, a line cut short) comes out as `Unreadable`, to
be set aside naming its file and line; a file that cannot be read on (gzip cut short, pretty
JSON that breaks off) raises `UnreadableFile` naming its file and line.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import ijson

from persona_risk.features.io import open_bytes

CONTAINERS = ("value", "Records")
BOM = b"\xef\xbb\xbf"
SHOWN = 60  # characters of a value quoted in a reason


class UnreadableFile(ValueError):
    """A file that cannot be read to its end (gzip or JSON cut short or broken, text that is not
    UTF-8); the message names the file and line."""


@dataclass(frozen=True)
class Unreadable:
    """A record that is no JSON object: set aside with `reason` (naming file and line)."""

    reason: str
    text: str


class _Lines:
    """A binary file read one line at a time (`read` never returns more than one line), so that
    `line` is the line the reader is on (from 1); a leading byte-order mark dropped."""

    def __init__(self, raw: BinaryIO):
        self.raw, self.line, self._new_line = raw, 0, True

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.readline(size)
        if self.line == 0 and chunk.startswith(BOM):
            chunk = chunk[len(BOM):] or self.raw.readline(size)
        if chunk:  # not read(0), which the JSON parser calls to tell bytes from text
            self.line += self._new_line
            self._new_line = chunk.endswith(b"\n")
        return chunk

    def __iter__(self) -> Iterator[bytes]:
        return iter(lambda: self.read(), b"")


@contextmanager
def _reading(path: Path) -> Iterator[_Lines]:
    """The file's lines, with a read or parse that cannot go on raised as `UnreadableFile`."""
    lines = _Lines(open_bytes(path))
    try:
        yield lines
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        where = f"after line {lines.line}" if lines.line else "before its first line"
        raise UnreadableFile(f"{path}: gzip data cut short or corrupt {where} ({err})") from err
    except ijson.JSONError as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UnreadableFile(f"{path} line {lines.line}: JSON cut short or broken "
                             f"({first})") from err
    except UnicodeDecodeError as err:
        raise UnreadableFile(f"{path} line {lines.line}: not UTF-8 text") from err
    finally:
        lines.raw.close()


def _object(value, path: Path, line: int, text: str = "") -> dict | Unreadable:
    if isinstance(value, dict):
        return value
    shown = text or json.dumps(value, default=str)
    return Unreadable(f"record: not a JSON object ({shown[:SHOWN]!r}) at {path} line {line}",
                      shown)


def _first_char(path: Path) -> str:
    with _reading(path) as lines:
        while chunk := lines.read(4096):
            if chunk.strip():
                return chr(chunk.lstrip()[0])
    return ""


def records(path: Path) -> Iterator[dict | Unreadable]:
    """Every record of one export file, streamed."""
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=50_000):
            yield from batch.to_pylist()
        return
    first = _first_char(path)
    if first == "[":
        yield from _pretty(path, "item")
    elif first == "{":
        yield from _object_records(path)
    elif first:
        yield from _csv_records(path)


def _pretty(path: Path, prefix: str) -> Iterator[dict | Unreadable]:
    """The values at `prefix` of pretty JSON (one or more top-level values), streamed."""
    with _reading(path) as lines:
        for value in ijson.items(lines, prefix, use_float=True, multiple_values=True):
            yield _object(value, path, lines.line)


def _container(path: Path) -> str | None:
    """The top-level key whose array holds the records, if the JSON wraps them in one (read
    only up to that key)."""
    with _reading(path) as lines:
        for prefix, event, _ in ijson.parse(lines, multiple_values=True):
            if event == "start_array" and prefix in CONTAINERS:
                return prefix
    return None


def _object_records(path: Path) -> Iterator[dict | Unreadable]:
    with _reading(path) as lines:
        head = lines.raw.readline()
    try:
        json.loads(head)
    except ValueError:  # pretty JSON: the array it wraps, else objects one after another
        container = _container(path)
        yield from _pretty(path, f"{container}.item" if container else "")
        return
    with _reading(path) as lines:  # JSON lines; a line may be a page
        for line in lines:
            if not line.strip():
                continue
            text = line.decode("utf-8", "replace").strip()
            try:
                obj = json.loads(line)
            except ValueError as err:
                why = (f"{err.msg.removesuffix(' at')} at column {err.colno}"
                       if isinstance(err, json.JSONDecodeError) else "not UTF-8")
                yield Unreadable(f"record: unreadable JSON ({why}) at {path} line {lines.line}",
                                 text)
                continue
            container = next((k for k in CONTAINERS if isinstance(obj, dict)
                              and isinstance(obj.get(k), list)), None)
            for item in obj[container] if container else [obj]:
                yield _object(item, path, lines.line, "" if container else text)


def _csv_records(path: Path) -> Iterator[dict]:
    with _reading(path) as lines:
        reader = csv.DictReader(io.TextIOWrapper(lines.raw, encoding="utf-8-sig", newline=""))
        lines.line = 0
        for row in reader:
            lines.line = reader.line_num
            yield row
