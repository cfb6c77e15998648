"""The after-state of a Terraform plan or ARM what-if: the current snapshot with the change set
applied, as an ordinary :class:`~vnetdoctor.model.snapshot.Snapshot`, so the engine needs no change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path

from vnetdoctor.errors import SnapshotParseError
from vnetdoctor.ingest.changeset import ChangeSet, Json, apply_changes
from vnetdoctor.ingest.documents import (
    PathArg,
    decode_json,
    duplicate_keys,
    expand,
    read,
    resources_of,
)
from vnetdoctor.ingest.loader import assemble
from vnetdoctor.ingest.plan import (
    changes_of_document,
    is_terraform_plan,
    is_whatif,
    resources_of_plan_document,
)
from vnetdoctor.model.snapshot import Snapshot
from vnetdoctor.model.warnings import IngestWarning, WarningKind


def read_plan(plan_path: PathArg, base: Sequence[Json] = ()) -> ChangeSet:
    path = Path(plan_path)
    if not path.is_file():
        raise SnapshotParseError("no such plan file", path=str(path))
    data = read(path)
    doc = decode_json(data, str(path))
    changes = changes_of_document(doc, str(path), base)
    changes.warnings[:0] = duplicate_keys(data, doc, str(path))
    return changes


def load_raw_resources(
    paths: PathArg | Sequence[PathArg], warnings: list[IngestWarning] | None = None
) -> list[Json]:
    """The ARM resource dicts of snapshot files/folders, as written (JSON only; XML is skipped).

    ``warnings``, when given, receives a warning for each key given twice in an object (the dicts
    keep the last value, as Azure's parser does)."""
    items: Sequence[PathArg] = [paths] if isinstance(paths, (str, PathLike)) else list(paths)
    out: list[Json] = []
    for path, explicit in expand(items):
        if path.suffix.lower() != ".json":
            continue
        data = read(path)
        doc = decode_json(data, str(path))
        if warnings is not None:
            warnings.extend(duplicate_keys(data, doc, str(path)))
        if is_terraform_plan(doc) or is_whatif(doc):
            resources, _ = resources_of_plan_document(doc, str(path))
            out.extend(resources)
            continue
        try:
            found = resources_of(doc, str(path))
        except SnapshotParseError:
            if explicit:
                raise
            continue
        out.extend(r for r in found if isinstance(r, dict))
    return out


def _base_files(base: Snapshot) -> list[str]:
    return [s for s in base.sources if s.casefold().endswith(".json")]


def apply_plan(
    base: Snapshot | Sequence[Json] | PathArg | Sequence[PathArg],
    plan_path: PathArg,
) -> Snapshot:
    """The after-state: the current ``base`` with the Terraform plan or what-if at ``plan_path``.

    ``base`` is a loaded :class:`Snapshot` (its JSON source files are re-read as ARM dicts), a list
    of ARM resource dicts, or snapshot file/folder paths. The plan's warnings (unknown values,
    unsupported resources or format versions, unresolvable references) are on the result's
    ``warnings``, each naming the Terraform address or what-if resource id.
    """
    base_warnings: list[IngestWarning] = []
    raw, extra = base_resources(base, base_warnings)
    changes = read_plan(plan_path, raw)
    changes.warnings.extend(base_warnings)  # the base's duplicate keys, not lost in the after-state
    if isinstance(base, Snapshot) and not any(Path(s).is_file() for s in base.sources):
        changes.warnings.append(
            IngestWarning.of(
                WarningKind.SKIPPED_INPUT,
                "the base snapshot was not loaded from files, so the plan is applied to nothing; "
                "pass the ARM resource dicts or the snapshot paths instead",
                path=changes.source,
            )
        )
    return snapshot_after(raw, changes, extra)


def base_resources(
    base: Snapshot | Sequence[Json] | PathArg | Sequence[PathArg],
    warnings: list[IngestWarning] | None = None,
) -> tuple[list[Json], list[str]]:
    """ARM dicts of ``base`` plus the non-JSON source files (classic XML) to load beside them;
    ``warnings`` as for :func:`load_raw_resources`."""
    if isinstance(base, Snapshot):
        files = _base_files(base)
        xml = [s for s in base.sources if s.casefold().endswith(".xml")]
        return (load_raw_resources(files, warnings) if files else []), xml
    if isinstance(base, (str, PathLike)):
        return load_raw_resources(base, warnings), []
    items = list(base)
    if all(isinstance(i, dict) for i in items):
        return [i for i in items if isinstance(i, dict)], []
    paths = [i for i in items if isinstance(i, (str, PathLike))]
    return load_raw_resources(paths, warnings), []


def snapshot_after(
    raw: Sequence[Json], changes: ChangeSet, extra_files: Iterable[str] = ()
) -> Snapshot:
    """Build the after-state snapshot; classic XML sources are loaded alongside unchanged.

    The change set's own warnings come first on the snapshot, before the loader's."""
    after = apply_changes(raw, changes)
    return assemble(
        [(after, f"{changes.source} (applied)")], extra_files, warnings=changes.warnings
    )


__all__ = [
    "apply_plan",
    "base_resources",
    "load_raw_resources",
    "read_plan",
    "snapshot_after",
]
