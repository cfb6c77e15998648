"""The Spark engine (the optional extra ``vnetdoctor[spark]``): the same SQL, for terabytes.

It runs the statements of :mod:`vnetdoctor.flowlogs.sql` unchanged apart from the dialect, on a
session the caller passes (a cluster, Databricks, Synapse, Fabric) or on a local one
(``local[*]``; Java 17 or later). ``pyspark`` is imported only when the engine is created.

Spark reads JSON with an explicit schema in PERMISSIVE mode: a value that does not parse becomes
one row flagged ``corrupt`` and is counted as ``unreadable`` in the warnings, instead of failing
the job. Blob files (one JSON document) are read with ``multiLine``; one-value-per-line files
without. File names come from ``_metadata.file_path`` (a URI), decoded back to the path.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from vnetdoctor.flowlogs import sql
from vnetdoctor.flowlogs.discovery import Form, SourceFile
from vnetdoctor.flowlogs.engine import JSON_COLUMNS, MissingEngine, Progress, Row, spark_ddl
from vnetdoctor.flowlogs.formats import TUPLE_COLUMNS
from vnetdoctor.flowlogs.model import FlowLogWarning

INSTALL_HINT: Final = ("pip install 'vnetdoctor[spark]'  (or: pip install pyspark; "
                       "a local session needs Java 17 or later)")
LOCAL_CONFIG: Final = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "ERROR",
    "spark.driver.memory": "2g",
    "spark.sql.session.timeZone": "UTC",
}
_POLL_SECONDS: Final = 0.5
# _metadata.file_path is a URI: 'file:/tmp/a%20b/PT1H.json'. A '+' stays literal in a URI path
# but url_decode() would turn it into a space, so it is protected first.
_FILE_EXPR: Final = (
    "url_decode(replace(regexp_replace(_metadata.file_path, '^file:/+', '/'), '+', '%2B'))"
)


def _import() -> Any:
    try:
        import pyspark.sql
    except ImportError:
        raise MissingEngine("spark", INSTALL_HINT) from None
    return pyspark.sql


def available() -> bool:
    try:
        _import()
    except MissingEngine:
        return False
    return True


def local_session(master: str = "local[*]", config: Mapping[str, str] | None = None) -> Any:
    """A local SparkSession configured for flow logs (quiet, UTC, no UI)."""
    pyspark_sql = _import()
    if master.startswith("local") and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise MissingEngine("spark", "Java 17 or later is needed for a local Spark session "
                                     "(java on PATH, or JAVA_HOME)")
    builder = pyspark_sql.SparkSession.builder.master(master).appName("vnetdoctor-flowlogs")
    cores = os.cpu_count() or 2
    settings = {**LOCAL_CONFIG, "spark.sql.shuffle.partitions": str(max(4, 2 * cores)),
                **(config or {})}
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


class SparkEngine:
    """Flow-log SQL on Apache Spark."""

    name = "spark"
    dialect = sql.SPARK

    def __init__(self, *, session: Any = None, master: str = "local[*]",
                 config: Mapping[str, str] | None = None) -> None:
        self._owned = session is None
        self.session = session if session is not None else local_session(master, config)
        self._cached: dict[str, Any] = {}  # view name -> cached DataFrame
        self._group = f"vnetdoctor-{uuid.uuid4().hex[:8]}"

    def load_json(self, files: Sequence[SourceFile]) -> None:
        ddl = spark_ddl()
        frames = []
        for multiline, forms in ((True, (Form.DOCUMENT, Form.ARRAY)), (False, (Form.LINES,))):
            paths = [f.path for f in files if f.form in forms]
            if not paths:
                continue
            reader = (self.session.read.schema(ddl).option("mode", "PERMISSIVE")
                      .option("multiLine", "true" if multiline else "false")
                      .option("columnNameOfCorruptRecord", "_corrupt_record"))
            frame = reader.json(paths).selectExpr(
                f"{_FILE_EXPR} AS file", "_corrupt_record IS NOT NULL AS corrupt",
                *[self.dialect.q(name) for name, _ in JSON_COLUMNS])
            frames.append(frame)
        if not frames:
            self.session.sql(sql.empty_tuples_sql(self.dialect)).createOrReplaceTempView(
                sql.TUPLES)
            return
        raw = frames[0]
        for frame in frames[1:]:
            raw = raw.unionByName(frame)
        raw.createOrReplaceTempView(sql.RAW)
        self.session.sql(sql.normalise_sql(self.dialect)).createOrReplaceTempView(sql.TUPLES)

    def load_parquet(self, batches: Mapping[str, Sequence[str]]) -> None:
        frame = self.session.sql(sql.empty_tuples_sql(self.dialect))
        for batch, files in sorted(batches.items()):
            if files:
                part = self.session.read.parquet(batch).select(*TUPLE_COLUMNS)
                frame = frame.unionByName(part.where(part["file"].isin(sorted(files))))
        frame.createOrReplaceTempView(sql.TUPLES)

    def materialize(self, name: str, sql_text: str, progress: Progress | None = None
                    ) -> list[FlowLogWarning]:
        previous = self._cached.pop(name, None)
        if previous is not None:
            previous.unpersist()
        frame = self.session.sql(sql_text).cache()
        frame.createOrReplaceTempView(name)
        self._cached[name] = frame
        self._tracked(frame.count, progress)
        return []

    def write_parquet(self, sql_text: str, target: str, progress: Progress | None = None
                      ) -> list[FlowLogWarning]:
        frame = self.session.sql(sql_text)
        try:
            self._tracked(lambda: frame.write.mode("overwrite").parquet(target), progress)
        except Exception as exc:  # Java's IOException arrives as Py4J's or pyspark's error
            code = _errno_in(str(exc))
            if code is None:
                raise
            # a full or read-only cache folder: an OSError as for any other file written
            raise OSError(code, os.strerror(code)) from None
        return []

    def fetch(self, sql_text: str) -> list[Row]:
        return [tuple(row) for row in self.session.sql(sql_text).collect()]

    def close(self) -> None:
        for name, frame in self._cached.items():
            frame.unpersist()
            self.session.catalog.dropTempView(name)
        self._cached.clear()
        if self._owned:
            self.session.stop()

    def _tracked(self, action: Any, progress: Progress | None) -> None:
        context = self.session.sparkContext
        context.setJobGroup(self._group, "vnetdoctor flow logs", interruptOnCancel=True)
        if progress is None:
            action()
            return
        done = threading.Event()
        tracker = context.statusTracker()

        def poll() -> None:
            while not done.wait(_POLL_SECONDS):
                total = finished = 0
                for job_id in tracker.getJobIdsForGroup(self._group):
                    job = tracker.getJobInfo(job_id)
                    for stage_id in job.stageIds if job else ():
                        stage = tracker.getStageInfo(stage_id)
                        if stage:
                            total += stage.numTasks
                            finished += stage.numCompletedTasks
                if total:
                    progress(min(finished / total, 0.99))

        watcher = threading.Thread(target=poll, name="vnetdoctor-spark-progress", daemon=True)
        watcher.start()
        try:
            action()
        finally:
            done.set()
            watcher.join()
        progress(1.0)


# What the JVM says when a write fails for a reason of the disk, and the errno it stands for.
_IO_REASONS: Final = (
    ("No space left on device", errno.ENOSPC),
    ("Read-only file system", errno.EROFS),
    ("Permission denied", errno.EACCES),
    ("Disk quota exceeded", errno.EDQUOT),
)


def _errno_in(message: str) -> int | None:
    return next((code for text, code in _IO_REASONS if text in message), None)
