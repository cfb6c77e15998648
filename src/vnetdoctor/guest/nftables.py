"""``nft -j list ruleset`` (one line as nft prints it, or pretty-printed through ``jq``).

Each table, chain, set, map and rule keeps its JSON pointer (``/nftables/17``) and the line where
its object starts, so a finding can cite it in either layout. Rule expressions are kept as nft's
own JSON; :mod:`vnetdoctor.engine.guest.nftables` interprets them.

Note (dependencies.md 6.1): for rules created through ``iptables-nft``, ``nft -j`` prints opaque
``{"xt": ...}`` objects that hide the match details; ``iptables-save`` keeps them. The loader
therefore prefers ``iptables-save`` for the ``ip``/``ip6`` tables it also shows.
"""

from __future__ import annotations

import json
import re
from typing import Any

from vnetdoctor.guest._text import json_element_lines
from vnetdoctor.model.evidence import NftChain, NftRule, NftRuleset, NftSet, SourceRef

__all__ = ["looks_like_nft_json", "parse_nft_document", "parse_nft_json"]

_ARRAY_START = re.compile(r'"nftables"\s*:\s*\[')


def looks_like_nft_json(text: str) -> bool:
    head = text.lstrip()[:200]
    return head.startswith("{") and '"nftables"' in head


def parse_nft_json(text: str, source: SourceRef) -> NftRuleset:
    try:
        document = json.loads(text)
    except RecursionError:
        raise source.error("not valid JSON (nested too deeply: 1,000 levels or more)", 1) from None
    except json.JSONDecodeError as exc:
        raise source.error(
            f"not valid JSON ({exc.msg}); nft -j output may have been cut off", exc.lineno
        ) from None
    return parse_nft_document(document, source, text=text)


def parse_nft_document(document: Any, source: SourceRef, *, text: str | None = None) -> NftRuleset:
    """The ruleset from an already decoded ``{"nftables": [...]}`` document."""
    if not isinstance(document, dict) or not isinstance(document.get("nftables"), list):
        raise source.error('not nft -j output: no "nftables" array', 1)
    items: list[Any] = document["nftables"]
    lines = _element_lines(text, len(items)) if text is not None else [None] * len(items)
    tables: list[tuple[str, str]] = []
    chains: list[NftChain] = []
    rules: list[NftRule] = []
    sets: list[NftSet] = []
    version: str | None = None
    for index, item in enumerate(items):
        ref = source.at(lines[index], f"/nftables/{index}")
        if not isinstance(item, dict) or len(item) != 1:
            raise ref.error(f"nftables element {index} is not a one-key object")
        ((kind, body),) = item.items()
        if not isinstance(body, dict):
            raise ref.error(f"nftables element {index} ({kind}) is not an object")
        if kind == "metainfo":
            version = _str(body.get("version"))
        elif kind == "table":
            tables.append((_need(body, "family", ref), _need(body, "name", ref)))
        elif kind == "chain":
            chains.append(
                NftChain(
                    family=_need(body, "family", ref),
                    table=_need(body, "table", ref),
                    name=_need(body, "name", ref),
                    type=_str(body.get("type")),
                    hook=_str(body.get("hook")),
                    prio=body.get("prio") if isinstance(body.get("prio"), int | str) else None,
                    policy=_str(body.get("policy")),
                    source=ref,
                )
            )
        elif kind == "rule":
            expr = body.get("expr")
            if not isinstance(expr, list):
                raise ref.error(f"rule {index} has no expr list")
            handle = body.get("handle")
            rules.append(
                NftRule(
                    family=_need(body, "family", ref),
                    table=_need(body, "table", ref),
                    chain=_need(body, "chain", ref),
                    handle=handle if isinstance(handle, int) else None,
                    expr=tuple(expr),
                    comment=_str(body.get("comment")),
                    source=ref,
                )
            )
        elif kind in ("set", "map"):
            flags = body.get("flags", ())
            if isinstance(flags, str):
                flags = (flags,)
            elements = body.get("elem")
            sets.append(
                NftSet(
                    family=_need(body, "family", ref),
                    table=_need(body, "table", ref),
                    name=_need(body, "name", ref),
                    type=body.get("type"),
                    map=body.get("map"),
                    flags=tuple(str(f) for f in flags),
                    elements=tuple(elements) if isinstance(elements, list) else None,
                    source=ref,
                )
            )
        # flowtables, counters, quotas, ct helpers, limits: not part of a filtering decision
    return NftRuleset(
        tables=tuple(tables),
        chains=tuple(chains),
        rules=tuple(rules),
        sets=tuple(sets),
        version=version,
        source=source,
    )


def _need(body: dict[str, Any], key: str, ref: SourceRef) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ref.error(f"missing {key!r}")
    return value


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _element_lines(text: str, count: int) -> list[int | None]:
    """The line on which each element of the ``nftables`` array starts."""
    start = _ARRAY_START.search(text)
    if start is None:
        return [None] * count
    return json_element_lines(text, start.end() - 1, count)
