"""A JSON number written as a float where Azure expects an integer (a rule priority ``1e2``):
read as Azure reads it when integral, refused with a warning naming the rule otherwise."""

from __future__ import annotations

import json

import pytest
from builders import nsg, rule

from vnetdoctor.ingest.loader import snapshot_from_json
from vnetdoctor.model.warnings import WarningKind


def _rules(priority: object) -> tuple[list[int | None], list[str]]:
    doc = [nsg("nsg1", rules=[rule("r1", priority=100)])]
    doc[0]["properties"]["securityRules"][0]["properties"]["priority"] = priority
    snap = snapshot_from_json(json.loads(json.dumps(doc)), source="x.json")
    (group,) = snap.network_security_groups.values()
    return [r.priority for r in group.security_rules], [str(w) for w in snap.warnings]


@pytest.mark.parametrize(("raw", "value"), [("1e2", 100), ("100.0", 100), ("4.096e3", 4096)])
def test_an_integral_float_is_the_integer(raw: str, value: int) -> None:
    assert _rules(json.loads(raw)) == ([value], [])


@pytest.mark.parametrize("raw", ["100.5", "1.505e2"])
def test_a_fraction_is_refused_naming_the_rule(raw: str) -> None:
    priorities, warnings = _rules(json.loads(raw))
    assert priorities == [None]
    (warning,) = warnings
    assert WarningKind.UNPARSED_VALUE.value in warning
    assert "securityRules/r1" in warning
    assert "field priority" in warning
    assert "fraction" in warning
    assert "expected a string" not in warning
