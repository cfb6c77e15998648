"""Pre-deployment documents: is this a Terraform plan or an ARM what-if result, and its change set.

:mod:`vnetdoctor.ingest.changeset` holds what a change set is and how it applies;
:mod:`vnetdoctor.ingest.preflight` reads a plan file and builds the after-state snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vnetdoctor.errors import SnapshotParseError
from vnetdoctor.ingest.changeset import ChangeSet, Json, apply_changes
from vnetdoctor.model.warnings import IngestWarning


def is_terraform_plan(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and "format_version" in doc
        and ("resource_changes" in doc or "planned_values" in doc)
    )


def is_whatif(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    from vnetdoctor.ingest import whatif

    return whatif.find_changes(doc) is not None


def changes_of_document(doc: Any, source: str, base: Sequence[Json] = ()) -> ChangeSet:
    """A Terraform plan or what-if document -> change set; anything else is a parse error."""
    if is_terraform_plan(doc):
        from vnetdoctor.ingest import terraform

        return terraform.changes_from_plan(doc, source=source, base=base)
    if is_whatif(doc):
        from vnetdoctor.ingest import whatif

        return whatif.changes_from_whatif(doc, source=source)
    raise SnapshotParseError(
        "not a Terraform plan (`terraform show -json PLANFILE`) or a what-if result",
        path=source,
    )


def resources_of_plan_document(doc: Any, source: str) -> tuple[list[Json], list[IngestWarning]]:
    """For ``-s plan.json``: the resources a plan describes on its own (no current snapshot)."""
    changes = changes_of_document(doc, source)
    return apply_changes([], changes), changes.warnings


__all__ = [
    "changes_of_document",
    "is_terraform_plan",
    "is_whatif",
    "resources_of_plan_document",
]
