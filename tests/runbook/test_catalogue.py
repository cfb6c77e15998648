"""The step registry and the finding catalogue stay honest and documented."""

from __future__ import annotations

import re
from pathlib import Path

from vnetdoctor.runbook.docs import render_runbook_md
from vnetdoctor.runbook.findings import CODES, finding
from vnetdoctor.runbook.runner import REGISTRY

REPO = Path(__file__).resolve().parents[2]
DESIGN_CODES = """VM_NOT_RUNNING NIC_NOT_FOUND NIC_PROVISIONING_FAILED NIC_GUEST_IP_MISMATCH
NIC_DUPLICATE_IP NSG_DENY ROUTE_NONE ROUTE_APPLIANCE_NO_IP_FORWARDING ROUTE_APPLIANCE_MISSING
ROUTE_LOOP ROUTE_BLACKHOLE_INTERNET GUEST_FIREWALL_DENY NO_LISTENER LISTENER_LOOPBACK_ONLY
SNAT_EXHAUSTION SNAT_RISK CLASSIC_ACL_DENY CLASSIC_ENDPOINT_MISSING SMB_BLOCKED GHOST_NIC
PEERING_MISSING PEERING_NOT_CONNECTED PEERING_ACCESS_DISABLED PEERING_FORWARDED_TRAFFIC_DISABLED
PEERING_NOT_TRANSITIVE ADDRESS_SPACE_OVERLAP GATEWAY_CONNECTION_DOWN GATEWAY_TRANSIT_MISSING"""


def test_nine_steps_in_the_guides_order() -> None:
    """Step 0 (name resolution, run only for a name as destination), then the guide's nine."""
    assert [s.number for s in REGISTRY] == list(range(10))
    assert [s.id for s in REGISTRY] == [
        "name-resolution",
        "nic",
        "nsg-udr",
        "guest-firewall",
        "listener",
        "snat",
        "classic-acl",
        "classic-endpoint",
        "network-share",
        "inter-vnet",
    ]
    assert all(s.doc for s in REGISTRY)


def test_every_design_code_is_catalogued() -> None:
    assert set(DESIGN_CODES.split()) <= set(CODES)
    for code, spec in CODES.items():
        assert re.fullmatch(r"[A-Z][A-Z_]+", code)
        assert 0 <= spec.step <= 9
        assert spec.title


def test_every_code_is_raised_somewhere() -> None:
    catalogue = REPO / "src" / "vnetdoctor" / "codes.py"
    # the catalogue is the one file left out of the search: it must be where CODES is defined
    assert "CODES: Final[dict[str, CodeSpec]] = {" in catalogue.read_text()
    src = "\n".join(
        p.read_text() for p in (REPO / "src" / "vnetdoctor").rglob("*.py") if p != catalogue
    )
    unused = [c for c in CODES if f'"{c}"' not in src]
    assert unused == []


def test_unknown_codes_are_refused() -> None:
    try:
        finding("NOT_A_CODE", "x")
    except KeyError as exc:
        assert "NOT_A_CODE" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("an unknown code was accepted")


def test_runbook_doc_is_generated_from_the_catalogue() -> None:
    assert (REPO / "docs" / "runbook.md").read_text() == render_runbook_md(), (
        "regenerate: python -m vnetdoctor.runbook.docs > docs/runbook.md"
    )
