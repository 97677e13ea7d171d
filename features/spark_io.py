"""Writing Spark results to any filesystem Spark reaches, atomically (temporary name, then
rename), through Hadoop's FileSystem API, so local paths, HDFS and object stores behave alike."""

from __future__ import annotations

import uuid

from pyspark.sql import DataFrame, SparkSession


def _fs_path(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hpath


def _replace(spark: SparkSession, tmp: str, path: str) -> None:
    """Move `tmp` to `path`; an older `path` is moved aside first and deleted last, so a crash
    leaves either the old or the new result, never half of one."""
    fs, dst = _fs_path(spark, path)
    _, src = _fs_path(spark, tmp)
    old = None
    if fs.exists(dst):
        _, old = _fs_path(spark, f"{path}.old-{uuid.uuid4().hex[:8]}")
        fs.rename(dst, old)
    if not fs.rename(src, dst):
        raise OSError(f"could not move {tmp} to {path}")
    if old is not None:
        fs.delete(old, True)


def write_dataset(spark: SparkSession, df: DataFrame, path: str) -> None:
    """Write `df` as a Parquet dataset (a folder of part files) at `path`, atomically."""
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    df.write.mode("error").parquet(tmp)
    _replace(spark, tmp, path)


def write_text(spark: SparkSession, text: str, path: str) -> None:
    """Write a small text file (a summary, a quarantine CSV) at `path`, atomically."""
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    fs, hpath = _fs_path(spark, tmp)
    stream = fs.create(hpath, False)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()
    _replace(spark, tmp, path)


def write_quarantine(spark: SparkSession, quarantine, path: str) -> str | None:
    """Write the set-aside rows (a pandas frame) as CSV text at `path`; when there are none,
    delete the file an earlier run left, so it always matches this run. Returns the path
    written, or None."""
    if len(quarantine):
        write_text(spark, quarantine.astype("str").to_csv(index=False), path)
        return path
    fs, hpath = _fs_path(spark, path)
    if fs.exists(hpath):
        fs.delete(hpath, False)
    return None
