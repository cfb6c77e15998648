"""The tables that read a load balancer's rules and probes name every field of their record, so
a field added to the model cannot be left unread."""

from __future__ import annotations

import msgspec
import pytest

from vnetdoctor.ingest import arm
from vnetdoctor.ingest.fields import Reader
from vnetdoctor.model.loadbalancer import InboundNatRule, LoadBalancingRule, OutboundRule, Probe
from vnetdoctor.model.warnings import IngestWarning

TABLES = [
    (LoadBalancingRule, arm._LB_RULE_FIELDS, {"index"}),
    (InboundNatRule, arm._NAT_RULE_FIELDS, {"index"}),
    (OutboundRule, arm._OUTBOUND_RULE_FIELDS, {"index"}),
    (Probe, arm._PROBE_FIELDS, set()),
]


@pytest.mark.parametrize(
    ("record", "fields", "positional"), TABLES, ids=[t[0].__name__ for t in TABLES]
)
def test_each_table_reads_every_field_of_its_record(
    record: type[msgspec.Struct], fields: arm._LbFields, positional: set[str]
) -> None:
    read = [attr for attr, _, _ in fields]
    assert len(read) == len(set(read))
    model = {f.name for f in msgspec.structs.fields(record)}
    assert set(read) | {"id", "name"} | positional == model


def test_a_rule_reads_its_single_pool_then_the_list() -> None:
    warnings: list[IngestWarning] = []
    reader = Reader("lb.json", warnings, {})
    lb_id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/loadBalancers/lb"
    lb = arm.load_balancer_from_arm(
        reader,
        {
            "name": "lb",
            "properties": {
                "loadBalancingRules": [
                    {
                        "name": "r",
                        "properties": {
                            "backendAddressPool": {"id": f"{lb_id}/backendAddressPools/one"},
                            "backendAddressPools": [{"id": f"{lb_id}/backendAddressPools/two"}],
                            "frontendPort": "eighty",
                        },
                    }
                ]
            },
        },
        reader.rid(lb_id),
    )
    (rule,) = lb.load_balancing_rules
    assert [p.name for p in rule.backend_address_pools] == ["one", "two"]
    assert rule.frontend_port is None
    assert rule.index == 0
    assert [w.field for w in warnings] == ["frontendPort"]
