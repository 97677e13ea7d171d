"""Reading and writing tables: Parquet (the main format) or CSV, files or folders of them.

Writes are atomic: the table goes to a temporary file beside the target, then is renamed over it,
so a crash leaves the previous file intact, never half a file. Temporary files and folders are
named `.<name>.<pid>.<random>`, so that those of a killed run (whose process is gone) can be
found and removed by the next one. Outputs get the process umask, as any file it creates.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

TABLE_SUFFIXES = (".parquet", ".csv", ".csv.gz")
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[0-9a-f]{16}$")


def expand_files(paths: Path | str | Iterable[Path | str], suffixes: tuple[str, ...] = ()
                 ) -> list[Path]:
    """Files as given, folders expanded to the files under them (sorted; hidden ones, whose
    name starts with a dot, skipped; with `suffixes`, only names ending with one of them)."""
    paths = [paths] if isinstance(paths, str | Path) else paths
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")
                            and (not suffixes or f.name.endswith(suffixes)))
        elif p.exists():
            files.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return files


def table_files(paths: Path | str | Iterable[Path | str]) -> list[Path]:
    """The table files named by `paths`: files as given, folders expanded (`expand_files`)."""
    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    files = expand_files(paths, TABLE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no .parquet or .csv files in {', '.join(map(str, paths))}")
    return files


class TableReadError(ValueError):
    """A file that is not a readable table (a CSV line with more fields than the header, a
    quote that never ends, text that is not UTF-8, no header at all), named with its line."""


def read_file(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """One table file; CSV columns are read as text and typed by validation."""
    if path.name.endswith(".parquet"):
        return pd.read_parquet(path, columns=columns)
    return next(csv_chunks(path, None, columns))


def csv_chunks(path: Path, chunk_rows: int | None,
               columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The rows of one CSV file (.csv or .csv.gz) as text columns, `chunk_rows` at a time
    (None: all in one); a file that is not a well-formed table raises `TableReadError`."""
    _check_first_row(path)
    with _read_errors(path):
        reader = pd.read_csv(path, dtype=str, keep_default_na=True, usecols=columns,
                             index_col=False, chunksize=chunk_rows)
    if chunk_rows is None:
        yield reader
        return
    with reader:
        while True:
            with _read_errors(path):
                chunk = next(reader, None)
            if chunk is None:
                return
            yield chunk


def open_bytes(path: Path) -> io.BufferedIOBase:
    """The file's bytes, gunzipped when it starts with the gzip magic bytes."""
    with path.open("rb") as raw:
        magic = raw.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")


def _check_first_row(path: Path) -> None:
    """pandas reads a first row with more fields than the header as if the header lacked
    index columns (every value one column off) or drops the extra ones: refuse it instead."""
    with io.TextIOWrapper(open_bytes(path), encoding="utf-8", errors="replace",
                          newline="") as text:
        rows = csv.reader(text)
        header, first = next(rows, []), next(rows, None)
    if first is not None and len(first) > len(header):
        raise TableReadError(f"{path}: line 2: {len(first)} fields where the header names "
                             f"{len(header)}")


@contextmanager
def _read_errors(path: Path) -> Iterator[None]:
    """pandas' and the codec's errors of reading a CSV file as `TableReadError`s naming it."""
    try:
        yield
    except pd.errors.EmptyDataError as err:
        raise TableReadError(f"{path}: empty, not even a header line") from err
    except pd.errors.ParserError as err:
        raise TableReadError(f"{path}: {_parser_problem(str(err))}") from err
    except UnicodeDecodeError as err:
        raise TableReadError(f"{path}: line {_first_undecodable_line(path)}: not UTF-8 text "
                             "(save the export as UTF-8)") from err


def _parser_problem(message: str) -> str:
    """pandas' tokenizer message in the user's words, with the line (from 1, header included)."""
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if fields:
        return f"line {fields[2]}: {fields[3]} fields where the header names {fields[1]}"
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:  # pandas counts that row from 0, the header included
        return f"line {int(quote[1]) + 1}: a quoted value that never ends"
    return " ".join(message.replace("Error tokenizing data. ", "").split())


def _first_undecodable_line(path: Path) -> int:
    """The number (from 1) of the first line of `path` that is not UTF-8."""
    with open_bytes(path) as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def read_table(paths: Path | str | Iterable[Path | str]) -> pd.DataFrame:
    """All rows of the table files or folders in `paths`, concatenated."""
    frames = [read_file(f) for f in table_files(paths)]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def temp_name(name: str) -> str:
    """The name of a temporary file or folder for `name`, owned by this process."""
    return f".{name}.{os.getpid()}.{secrets.token_hex(8)}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temps(folder: Path | str) -> list[Path]:
    """Remove the temporary files and folders (`temp_name`) in `folder` left by processes that
    are gone (a SIGKILL, a power cut); returns what was removed."""
    removed = []
    for path in Path(folder).glob(".*"):
        match = _TEMP_NAME.match(path.name)
        if match is None or _alive(int(match["pid"])):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextmanager
def temp_folder(parent: Path | str, name: str) -> Iterator[Path]:
    """A private temporary folder in `parent` (`temp_name`), removed on exit whatever
    happens (and by `remove_stale_temps` after a kill)."""
    path = Path(parent) / temp_name(name)
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _write_atomic(path: Path, write) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(temp_name(path.name))
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # mode under the umask
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_table(df: pd.DataFrame, path: Path | str) -> Path:
    """Write `df` atomically as CSV when the name ends in .csv, else as Parquet."""
    path = Path(path)
    if path.name.endswith(".csv"):
        return _write_atomic(path, lambda tmp: df.to_csv(
            tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ"))
    return _write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def write_text(text: str, path: Path | str) -> Path:
    """Write `text` atomically to `path`."""
    return _write_atomic(Path(path), lambda tmp: tmp.write_text(text))


QUARANTINE = "quarantine.csv"  # the rows set aside while making an output
SUMMARY = "summary.json"  # a job's summary


def side_file(out: Path | str, name: str) -> str:
    """The path of a file beside the output `out`, for local paths and URIs alike:
    `<out without its suffix>.<name>` (`s3a://b/scores.parquet` -> `s3a://b/scores.summary.json`
    for `summary.json`)."""
    text = str(out).rstrip("/")
    last = text.rsplit("/", 1)[-1]
    stem = last.rsplit(".", 1)[0] if "." in last.lstrip(".") else last
    return f"{text[:len(text) - len(last)]}{stem}.{name}"


def quarantine_path(out: Path | str) -> Path:
    """Where the rows set aside while making `out` go: `<out's stem>.quarantine.csv` beside it."""
    return Path(side_file(out, QUARANTINE))


def write_quarantine(quarantine: pd.DataFrame, out: Path | str) -> Path | None:
    """Write the rows set aside while making `out` beside it, as text; when there are none,
    remove the file an earlier run left, so the file always matches this run. Returns the file
    written, or None."""
    path = quarantine_path(out)
    if len(quarantine):
        return write_table(quarantine.astype("str"), path)
    path.unlink(missing_ok=True)
    return None
