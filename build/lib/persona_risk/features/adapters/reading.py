"""Streaming records out of vendor exports: JSON lines, JSON arrays, JSON objects wrapping an
array (Graph `value`, CloudTrail `Records`), or CSV; plain or gzip. Nothing is loaded whole."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path

import ijson

CONTAINERS = ("value", "Records")


def open_text(path: Path) -> io.TextIOBase:
    """The file as text, gunzipped when it starts with the gzip magic bytes."""
    with path.open("rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    return path.open("r", encoding="utf-8-sig")


def _first_char(path: Path) -> str:
    with open_text(path) as f:
        while True:
            c = f.read(1)
            if not c or not c.isspace():
                return c


def records(path: Path) -> Iterator[dict]:
    """Every record of one export file, streamed."""
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=50_000):
            yield from batch.to_pylist()
        return
    first = _first_char(path)
    if first == "[":
        with open_text(path) as f:
            yield from ijson.items(f, "item", use_float=True)
    elif first == "{":
        yield from _object_records(path)
    elif first:
        with open_text(path) as f:
            yield from csv.DictReader(f)


def _object_records(path: Path) -> Iterator[dict]:
    with open_text(path) as f:
        line = f.readline()
    try:
        head = json.loads(line)
    except json.JSONDecodeError:
        head = None
    if head is None:  # one pretty-printed object: stream its container array
        for key in CONTAINERS:
            with open_text(path) as f:
                found = False
                for item in ijson.items(f, f"{key}.item", use_float=True):
                    found = True
                    yield item
                if found:
                    return
        return
    with open_text(path) as f:  # JSON lines; a line may itself be a page wrapping records
        for line in f:
            if line.strip():
                obj = json.loads(line)
                container = next((k for k in CONTAINERS if isinstance(obj.get(k), list)), None)
                yield from (obj[container] if container else [obj])
