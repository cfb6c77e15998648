"""Random plan and what-if shapes: warnings or the tool's error, never a crash."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preflight.plans import sample_change_plan
from vnetdoctor.errors import SnapshotParseError
from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.ingest.terraform import changes_from_plan
from vnetdoctor.ingest.whatif import changes_from_whatif

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
KEYS = ("after", "before", "after_unknown", "actions", "type", "address", "provider_name", "name")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 2), st.sampled_from(KEYS), json_values), max_size=6))
def test_mutated_plans_never_crash(mutations: list[tuple[int, str, Any]]) -> None:
    doc = copy.deepcopy(sample_change_plan())
    for index, key, value in mutations:
        rc = doc["resource_changes"][index]
        if key in ("after", "before", "after_unknown", "actions"):
            rc["change"][key] = value
        else:
            rc[key] = value
    changes_from_plan(doc)
    with contextlib.suppress(SnapshotParseError):
        snapshot_from_json(doc)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values, json_values)
def test_random_whatif_never_crashes(changes: Any, status: Any) -> None:
    changes_from_whatif({"status": status, "changes": changes})
    changes_from_whatif({"properties": {"changes": changes, "potentialChanges": changes}})
    changes_from_plan({"format_version": status, "resource_changes": changes})
