"""Terraform plan JSON in the real ``terraform show -json`` format, modelled on the fixtures."""

from __future__ import annotations

from typing import Any

SUB = "3f2b9c1e-7d4a-4e8b-9a61-5c0d2e8f7a14"
PROVIDER = "registry.terraform.io/hashicorp/azurerm"
NSG = (
    f"/subscriptions/{SUB}/resourceGroups/rg-spoke-data/providers/Microsoft.Network/"
    "networkSecurityGroups/nsg-snet-data"
)
RT = (
    f"/subscriptions/{SUB}/resourceGroups/rg-spoke-web/providers/Microsoft.Network/"
    "routeTables/rt-spoke-web"
)


def _rule(name: str, priority: int, access: str, source: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access": access,
        "description": None,
        "destination_address_prefix": "*",
        "destination_address_prefixes": None,
        "destination_application_security_group_ids": None,
        "destination_port_range": "5432",
        "destination_port_ranges": None,
        "direction": "Inbound",
        "name": name,
        "network_security_group_name": "nsg-snet-data",
        "priority": priority,
        "protocol": "Tcp",
        "resource_group_name": "rg-spoke-data",
        "source_address_prefix": source,
        "source_address_prefixes": None,
        "source_application_security_group_ids": None,
        "source_port_range": "*",
        "source_port_ranges": None,
        "timeouts": None,
    }
    body.update(extra)
    return body


def _change(
    address: str,
    rtype: str,
    actions: list[str],
    before: Any,
    after: Any,
    after_unknown: dict[str, Any],
) -> dict[str, Any]:
    return {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": address.split(".", 1)[1],
        "provider_name": PROVIDER,
        "change": {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": after_unknown,
            "before_sensitive": False if before is None else {},
            "after_sensitive": {},
        },
    }


def sample_change_plan() -> dict[str, Any]:
    """On the Contoso sample: a new ``deny-sql`` rule (priority 200) in nsg-snet-data ahead of
    Allow-App-To-Db, which moves from 100 to 210, and route ``isolate-snet-pay`` in rt-spoke-web
    changed from next hop None to VnetLocal."""
    allow_id = f"{NSG}/securityRules/Allow-App-To-Db"
    allow_before = _rule(
        "Allow-App-To-Db",
        100,
        "Allow",
        "10.1.2.0/24",
        id=allow_id,
        destination_address_prefix=None,
        destination_application_security_group_ids=[
            f"/subscriptions/{SUB}/resourceGroups/rg-spoke-data/providers/Microsoft.Network/"
            "applicationSecurityGroups/asg-db"
        ],
    )
    allow_after = {**allow_before, "priority": 210}
    deny_after = _rule("deny-sql", 200, "Deny", "10.1.2.0/24")
    route_before = {
        "address_prefix": "10.1.3.0/24",
        "id": f"{RT}/routes/isolate-snet-pay",
        "name": "isolate-snet-pay",
        "next_hop_in_ip_address": None,
        "next_hop_type": "None",
        "resource_group_name": "rg-spoke-web",
        "route_table_name": "rt-spoke-web",
        "timeouts": None,
    }
    route_after = {**route_before, "next_hop_type": "VnetLocal"}
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {"resources": []}},
        "resource_changes": [
            _change(
                "azurerm_network_security_rule.deny_sql",
                "azurerm_network_security_rule",
                ["create"],
                None,
                deny_after,
                {"id": True},
            ),
            _change(
                "azurerm_network_security_rule.allow_app_to_db",
                "azurerm_network_security_rule",
                ["update"],
                allow_before,
                allow_after,
                {},
            ),
            _change(
                "azurerm_route.isolate_snet_pay",
                "azurerm_route",
                ["update"],
                route_before,
                route_after,
                {},
            ),
        ],
        "prior_state": {
            "format_version": "1.0",
            "terraform_version": "1.9.8",
            "values": {
                "root_module": {
                    "resources": [
                        {
                            "address": "azurerm_route.isolate_snet_pay",
                            "mode": "managed",
                            "type": "azurerm_route",
                            "name": "isolate_snet_pay",
                            "provider_name": PROVIDER,
                            "schema_version": 0,
                            "values": route_before,
                            "sensitive_values": {},
                        }
                    ]
                }
            },
        },
        "configuration": {
            "provider_config": {"azurerm": {"name": "azurerm", "full_name": PROVIDER}},
            "root_module": {
                "resources": [
                    {
                        "address": "azurerm_network_security_rule.deny_sql",
                        "mode": "managed",
                        "type": "azurerm_network_security_rule",
                        "name": "deny_sql",
                        "provider_config_key": "azurerm",
                        "expressions": {
                            "name": {"constant_value": "deny-sql"},
                            "priority": {"constant_value": 200},
                        },
                        "schema_version": 0,
                    }
                ]
            },
        },
        "relevant_attributes": [],
        "timestamp": "2026-11-26T12:00:00Z",
        "applyable": True,
        "complete": True,
        "errored": False,
    }
