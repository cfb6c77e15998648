from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vnetdoctor.model.ids import ResourceId

SUBNET = (
    "/subscriptions/0000/resourceGroups/RG-Hub/providers/Microsoft.Network/"
    "virtualNetworks/vnet-hub/subnets/snet-App"
)


def test_compares_case_insensitively_and_keeps_spelling() -> None:
    a = ResourceId(SUBNET)
    b = ResourceId(SUBNET.lower())
    assert a == b
    assert hash(a) == hash(b)
    assert str(a) == SUBNET
    assert a == SUBNET.upper()
    assert {a: 1}[b] == 1


def test_structure() -> None:
    rid = ResourceId(SUBNET)
    assert rid.subscription == "0000"
    assert rid.resource_group == "RG-Hub"
    assert rid.namespace == "Microsoft.Network"
    assert rid.type == "Microsoft.Network/virtualNetworks/subnets"
    assert rid.name == "snet-App"
    parent = rid.parent
    assert parent is not None
    assert str(parent).endswith("/virtualNetworks/vnet-hub")
    assert parent.type == "Microsoft.Network/virtualNetworks"
    assert parent.parent is None


def test_trailing_slash_and_whitespace_do_not_matter() -> None:
    assert ResourceId(SUBNET + "/") == ResourceId("  " + SUBNET)


def test_ids_outside_the_grammar_are_kept() -> None:
    odd = ResourceId("/classic/hostedservices/svc/deployments/d/roles/r")
    assert odd.name == "r"
    assert odd.type is None
    assert odd.parent is None


@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_id_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        ResourceId(bad)


names = st.text(
    alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="-_."),
    min_size=1,
    max_size=12,
)


@given(sub=names, rg=names, vnet=names, subnet=names, upper=st.booleans())
def test_parse_round_trips_and_case_variants_are_equal(
    sub: str, rg: str, vnet: str, subnet: str, upper: bool
) -> None:
    text = (
        f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/"
        f"virtualNetworks/{vnet}/subnets/{subnet}"
    )
    rid = ResourceId.parse(text)
    assert ResourceId.parse(str(rid)) == rid
    variant = ResourceId(text.upper() if upper else text.lower())
    assert variant == rid
    assert hash(variant) == hash(rid)
    assert rid.name == subnet
    assert rid.parent is not None
    assert rid.parent.name == vnet
