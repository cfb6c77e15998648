"""Self-contained HTML reports: one file, no scripts or fetches, an inline SVG of the path.

Every string that comes from the estate (names, rule descriptions, messages) is attacker-writable,
so every one goes through :func:`_e` (``html.escape`` with quotes) before it reaches the page; the
page carries a Content-Security-Policy that forbids loading anything from anywhere, so even a
mistake here could not make the browser fetch or run anything.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from vnetdoctor.report.output import inert_bidi

if TYPE_CHECKING:
    from vnetdoctor.analyses.matrix import Matrix
    from vnetdoctor.model.snapshot import Snapshot
    from vnetdoctor.runbook.runner import Diagnosis

__all__ = ["render_html", "render_matrix_html"]

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem;color:#1b1f24;
  max-width:1200px}
h1{font-size:1.4rem;margin:0 0 .5rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem;border-bottom:1px solid #d0d7de}
code,.mono{font-family:ui-monospace,SFMono-Regular,Consolas,monospace;font-size:.85em;
  word-break:break-all}
.verdict{display:inline-block;padding:.3rem .8rem;border-radius:4px;font-weight:700;
  text-transform:uppercase;color:#fff}
.verdict-reachable{background:#1a7f37}.verdict-blocked{background:#cf222e}
.verdict-inconclusive{background:#9a6700}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.status{font-weight:700;text-transform:uppercase;font-size:.8em}
.status-pass{color:#1a7f37}.status-fail{color:#cf222e}.status-warn{color:#9a6700}
.status-unknown{color:#8250df}.status-skip{color:#57606a}
.status-error{color:#fff;background:#82071e;padding:0 .3em;border-radius:3px}
.blocker{border-left:4px solid #cf222e;padding:.3rem .8rem;margin:.6rem 0;background:#fff5f5}
.finding{margin:.2rem 0}
svg text{font-family:system-ui,sans-serif}
.legend span{margin-right:1rem}
.cell{width:14px;height:14px;padding:0;border:1px solid #fff}
.cell-reachable{background:#2da44e}.cell-blocked{background:#cf222e}
.cell-inconclusive{background:#d4a72c}.cell-self{background:#d0d7de}
.heat th.rot{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:400;
  font-size:.75em;white-space:nowrap}
.heat td.name{font-size:.75em;white-space:nowrap}
"""

_HOP_W, _HOP_H, _GAP_X, _ROW_GAP, _PER_ROW, _PAD = 170, 64, 34, 40, 5, 16
_FILL = {"pass": "#dafbe1", "fail": "#ffebe9", "warn": "#fff8c5", "unknown": "#fbefff"}
_STROKE = {"pass": "#1a7f37", "fail": "#cf222e", "warn": "#9a6700", "unknown": "#8250df"}


def _e(value: object) -> str:
    """Escape anything for HTML text or a double/single-quoted attribute; bidi controls are
    shown as escapes, as in the text output, so that no name can make the page show an address
    reversed."""
    return html.escape(inert_bidi("" if value is None else str(value)), quote=True)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _page(title: str, body: Iterable[str]) -> str:
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>\n",
            *body,
            "\n</body></html>\n",
        ]
    )


def _failing_index(hops: Sequence[Any]) -> int | None:
    for i, hop in enumerate(hops):
        if str(hop.status) == "fail":
            return i
    return None


# Hops drawn as their own node kinds, with their labelled facts (Hop.facts) as extra lines:
# an Azure Firewall (name, deciding collection and rule) and a load balancer (frontend, rule or
# NAT rule, backends and health). Each kind keeps a distinct shape so that the path reads at a
# glance; ``_NODE`` maps a hop kind to (CSS class, accent colour, fact keys in drawing order).
_NODE: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "firewall": ("node-firewall", "#bc4c00", ("firewall", "collection", "rule")),
    "load-balancer": (
        "node-lb",
        "#0969da",
        ("frontend", "rule", "NAT rule", "backend", "backends", "health"),
    ),
}
_FACT_LINE = 14


def _facts(hop: Any) -> list[tuple[str, str]]:
    facts = dict(getattr(hop, "facts", ()) or ())
    node = _NODE.get(str(hop.kind))
    if node is None:
        return []
    return [(k, str(facts[k])) for k in node[2] if k in facts]


def _node_height(hop: Any) -> int:
    return _HOP_H + _FACT_LINE * len(_facts(hop))


def _icon(kind: str, x: float, y: float) -> str:
    """A small glyph in the top right corner: bricks for a firewall, a fan-out for a load
    balancer (drawn with lines, no font or image needed)."""
    if kind == "firewall":
        return (
            f'<g class="icon icon-firewall" stroke="#bc4c00" stroke-width="1.2" fill="none">'
            f'<rect x="{x}" y="{y}" width="18" height="12"/>'
            f'<path d="M{x},{y + 6} H{x + 18} M{x + 9},{y} V{y + 6} M{x + 5},{y + 6} V{y + 12} '
            f'M{x + 13},{y + 6} V{y + 12}"/></g>'
        )
    return (
        f'<g class="icon icon-lb" stroke="#0969da" stroke-width="1.2" fill="#0969da">'
        f'<circle cx="{x + 3}" cy="{y + 6}" r="2.5"/>'
        f'<path fill="none" d="M{x + 5},{y + 6} L{x + 17},{y} M{x + 5},{y + 6} L{x + 17},{y + 6} '
        f'M{x + 5},{y + 6} L{x + 17},{y + 12}"/></g>'
    )


def path_svg(hops: Sequence[Any]) -> str:
    """The path as an inline SVG: one box per hop, left to right in rows, arrows between them.

    Each hop is a ``<g class="hop status-...">`` with ``data-kind``/``data-status``; every failing
    hop also has the class ``failing`` and a red cross, and the first one ``id="failing-hop"``.
    An Azure Firewall hop (``node-firewall``: the firewall, the deciding rule collection and
    rule) and a load balancer hop (``node-lb``: frontend, rule or NAT rule, backends, health) are
    drawn as their own node kinds, taller, with a glyph and a coloured bar, their facts on extra
    lines; every string is escaped.
    """
    if not hops:
        return '<p class="no-path">No path was traced (see the findings).</p>'
    first_fail = _failing_index(hops)
    rows = (len(hops) + _PER_ROW - 1) // _PER_ROW
    heights = [_node_height(h) for h in hops]
    row_h = [max(heights[r * _PER_ROW : (r + 1) * _PER_ROW]) for r in range(rows)]
    row_y = [_PAD + sum(row_h[:r]) + r * _ROW_GAP for r in range(rows)]
    width = _PAD * 2 + _PER_ROW * _HOP_W + (_PER_ROW - 1) * _GAP_X
    height = _PAD * 2 + sum(row_h) + (rows - 1) * _ROW_GAP
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="path" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="path of the traffic, {len(hops)} hops">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#57606a"/></marker></defs>',
    ]
    positions = []
    for i in range(len(hops)):
        row, col = divmod(i, _PER_ROW)
        positions.append((_PAD + col * (_HOP_W + _GAP_X), row_y[row]))
    for i in range(1, len(hops)):
        (x0, y0), (x1, y1) = positions[i - 1], positions[i]
        line: tuple[float, float, float, float]
        if y0 == y1:
            line = (x0 + _HOP_W, y0 + _HOP_H / 2, x1, y1 + _HOP_H / 2)
        else:  # wrap to the next row: from the bottom of the last box to the top of the first
            line = (x0 + _HOP_W / 2, y0 + heights[i - 1], x1 + _HOP_W / 2, y1)
        out.append(
            f'<line class="edge" x1="{line[0]:g}" y1="{line[1]:g}" x2="{line[2]:g}" '
            f'y2="{line[3]:g}" stroke="#57606a" stroke-width="1.5" marker-end="url(#arrow)"/>'
        )
    for i, hop in enumerate(hops):
        x, y = positions[i]
        h = heights[i]
        status = str(hop.status)
        failing = status == "fail"
        node = _NODE.get(str(hop.kind))
        classes = f"hop status-{_e(status)}" + (" failing" if failing else "")
        if node is not None:
            classes += f" node {node[0]}"
        ident = ' id="failing-hop"' if i == first_fail else ""
        stroke_w = 3 if failing else 1.2
        tooltip = f"{hop.kind}: {hop.name} \u2014 {hop.decision}\n{hop.detail}"
        if hop.resource:
            tooltip += f"\n{hop.resource}"
        out.append(
            f'<g class="{classes}"{ident} data-index="{i}" data-kind="{_e(hop.kind)}" '
            f'data-status="{_e(status)}"><title>{_e(tooltip)}</title>'
            f'<rect x="{x}" y="{y}" width="{_HOP_W}" height="{h}" rx="{2 if node else 6}" '
            f'fill="{_FILL.get(status, "#f6f8fa")}" stroke="{_STROKE.get(status, "#57606a")}" '
            f'stroke-width="{stroke_w}"/>'
        )
        if node is not None:
            accent = node[1]
            out.append(
                f'<rect class="accent" x="{x}" y="{y}" width="5" height="{h}" fill="{accent}"/>'
            )
            out.append(_icon(str(hop.kind), x + _HOP_W - (44 if failing else 24), y + 6))
        out.append(
            f'<text x="{x + 8}" y="{y + 16}" font-size="10" fill="#57606a">'
            f"{_e(_clip(str(hop.kind), 26))}</text>"
            f'<text x="{x + 8}" y="{y + 34}" font-size="12" font-weight="600">'
            f"{_e(_clip(str(hop.name), 24))}</text>"
            f'<text x="{x + 8}" y="{y + 52}" font-size="11" '
            f'fill="{_STROKE.get(status, "#1b1f24")}">'
            f"{_e(_clip(str(hop.decision), 26))}</text>"
        )
        for n, (key, value) in enumerate(_facts(hop)):
            out.append(
                f'<text class="fact" data-fact="{_e(key)}" x="{x + 8}" '
                f'y="{y + 52 + _FACT_LINE * (n + 1)}" font-size="10" fill="#1b1f24">'
                f"{_e(_clip(f'{key}: {value}', 30))}</text>"
            )
        if failing:
            cx, cy = x + _HOP_W - 14, y + 14
            out.append(
                f'<g class="fail-mark"><circle cx="{cx}" cy="{cy}" r="9" fill="#cf222e"/>'
                f'<path d="M{cx - 4},{cy - 4} L{cx + 4},{cy + 4} M{cx + 4},{cy - 4} '
                f'L{cx - 4},{cy + 4}" stroke="#fff" stroke-width="2"/></g>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def _finding_html(f: Any, css: str = "finding") -> str:
    parts = [
        f'<div class="{css}" data-code="{_e(f.code)}">',
        f'<span class="status status-{_e(f.status)}">{_e(f.status)}</span> ',
        f"<code>{_e(f.code)}</code> {_e(f.message)}",
    ]
    evidence = f.resource or ""
    if evidence:
        pointer = f" <code>{_e(f.pointer)}</code>" if f.pointer else ""
        parts.append(f'<div class="evidence">Evidence: <code>{_e(evidence)}</code>{pointer}</div>')
    if f.remediation:
        parts.append(f'<div class="fix">Fix: {_e(f.remediation)}</div>')
    if f.command:
        parts.append(f'<div class="command">Command: <code>{_e(f.command)}</code></div>')
    parts.append("</div>")
    return "".join(parts)


def rule_description(snapshot: Snapshot | None, resource: str | None, pointer: str | None) -> str:
    """The description of the NSG rule a hop or finding points at, when the snapshot has it."""
    if snapshot is None or not resource or not pointer:
        return ""
    parts = pointer.strip("/").split("/")
    if len(parts) != 3 or parts[0] != "properties" or not parts[2].isdigit():
        return ""
    try:
        nsg = snapshot.network_security_groups.find(resource)
    except Exception:  # not an NSG, or not in the snapshot: nothing to add
        return ""
    rules = {
        "securityRules": nsg.security_rules,
        "defaultSecurityRules": nsg.default_security_rules,
    }
    chosen = rules.get(parts[1], ())
    n = int(parts[2])
    rule = next((r for r in chosen if r.index == n), None)
    if rule is None and n < len(chosen):
        rule = chosen[n]
    return (rule.description or "") if rule is not None else ""


def render_html(diagnosis: Diagnosis, snapshot: Snapshot | None = None) -> str:
    """One self-contained HTML page for a diagnosis: the verdict, the nine steps, each blocker
    with its evidence and fix, and the path drawn as inline SVG with the failing hop marked.

    With ``snapshot``, NSG hops also show the matched rule's description.
    """
    q = diagnosis.query
    port = "any port" if q.port is None else f"port {q.port}"
    question = f"{q.source.name} \u2192 {q.destination.name}, {q.protocol.value} {port}"
    verdict = diagnosis.verdict.value
    body = [
        f"<h1>vnetdoctor: {_e(question)}</h1>",
        f'<p>Verdict: <span id="verdict" class="verdict verdict-{_e(verdict)}" '
        f'data-verdict="{_e(verdict)}">{_e(verdict)}</span></p>',
    ]
    ends = []
    for label, end in (("Source", q.source), ("Destination", q.destination)):
        ip = "" if end.ip is None else f" ({end.ip})"
        kind = _e(end.kind.value)
        ends.append(f"<li>{label}: {_e(end.name)}{_e(ip)} <small>[{kind}]</small></li>")
    body.append(f"<ul>{''.join(ends)}</ul>")

    blockers = diagnosis.blockers
    body.append(f'<h2>Blockers ({len(blockers)})</h2><section id="blockers">')
    if not blockers:
        body.append("<p>None found.</p>")
    body.extend(_finding_html(f, "blocker") for f in blockers)
    body.append("</section>")

    body.append(
        '<h2>Path</h2><section id="path">'
        + path_svg(diagnosis.path)
        + '<p class="legend"><span class="status-pass">\u25a0 pass</span>'
        '<span class="status-fail">\u25a0 fail (marked \u2716)</span>'
        '<span class="status-warn">\u25a0 warn</span>'
        '<span class="status-unknown">\u25a0 unknown</span></p></section>'
    )

    body.append(
        '<h2>The nine steps</h2><table id="steps"><thead><tr><th>#</th><th>Step</th>'
        "<th>Status</th><th>Findings</th></tr></thead><tbody>"
    )
    for s in diagnosis.steps:
        findings = "".join(_finding_html(f) for f in s.findings)
        summary = f"<div>{_e(s.summary)}</div>" if s.summary else ""
        body.append(
            f'<tr class="step" data-step="{s.number}" data-id="{_e(s.id)}" '
            f'data-status="{_e(s.status.value)}"><td>{s.number}</td>'
            f"<td>{_e(s.title)} <code>{_e(s.id)}</code></td>"
            f'<td><span class="status status-{_e(s.status.value)}">{_e(s.status.value)}</span>'
            f"</td><td>{summary}{findings}</td></tr>"
        )
    body.append("</tbody></table>")

    body.append(
        '<h2>Hops</h2><table id="hops"><thead><tr><th>#</th><th>Kind</th><th>Name</th>'
        "<th>Decision</th><th>Detail</th><th>Evidence</th></tr></thead><tbody>"
    )
    for i, hop in enumerate(diagnosis.path):
        evidence = _e(hop.resource or "")
        if hop.pointer:
            evidence += f" <code>{_e(hop.pointer)}</code>"
        described = rule_description(snapshot, hop.resource, hop.pointer)
        detail = _e(hop.detail)
        if described:
            detail += f'<div class="description">Rule description: {_e(described)}</div>'
        facts = getattr(hop, "facts", ()) or ()
        if facts:
            detail += (
                '<div class="facts">' + "; ".join(f"{_e(k)}: {_e(v)}" for k, v in facts) + "</div>"
            )
        body.append(
            f'<tr class="status-{_e(hop.status)}"><td>{i}</td><td>{_e(hop.kind)}</td>'
            f"<td>{_e(hop.name)}</td><td>{_e(hop.decision)}</td><td>{detail}</td>"
            f'<td class="mono">{evidence}</td></tr>'
        )
    body.append("</tbody></table>")
    if diagnosis.inputs:
        items = "".join(f"<li><code>{_e(i)}</code></li>" for i in diagnosis.inputs)
        body.append(f"<h2>Inputs</h2><ul>{items}</ul>")
    body.append("<p><small>Generated by vnetdoctor from offline data.</small></p>")
    return _page(f"vnetdoctor: {question} \u2014 {verdict}", body)


_MAX_VM_HEAT = 120
_MAX_GROUP_HEAT = 150
_VERDICTS = ("reachable", "blocked", "inconclusive")


def _vnet_heat(matrix: Matrix) -> list[str]:
    """The matrix by VNet pair: each square coloured by the verdict most VM pairs get, its
    tooltip giving the count of each verdict and the most common reasons."""
    import numpy as np

    cells, rows = matrix.answers()
    table = np.asarray(rows, dtype=np.int64).reshape(len(matrix.groups), len(matrix.groups))
    names = sorted({g.vnet for g in matrix.groups}, key=lambda v: (v == "", v.casefold()))
    where = {v: k for k, v in enumerate(names)}
    vnet = np.array([where[g.vnet] for g in matrix.groups], dtype=np.int64)
    sizes = np.array([len(g.members) for g in matrix.groups], dtype=np.int64)
    weights = np.outer(sizes, sizes)
    np.fill_diagonal(weights, sizes * (sizes - 1))
    valid = table >= 0
    src = np.broadcast_to(vnet[:, None], table.shape)[valid]
    dst = np.broadcast_to(vnet[None, :], table.shape)[valid]
    cell, weight = table[valid], weights[valid]
    v = len(names)
    # VM pairs per (source VNet, destination VNet, cell)
    packed = (src * v + dst) * max(len(cells), 1) + cell
    keys, inverse = np.unique(packed, return_inverse=True)
    totals = np.bincount(inverse.reshape(-1), weights=weight)
    per_square: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for key, total in zip(keys.tolist(), totals.tolist(), strict=True):
        square, c = divmod(key, max(len(cells), 1))
        per_square.setdefault(divmod(square, v), []).append((int(total), c))
    labels = [name or "(no VNet)" for name in names]
    body = ['<table class="heat" id="matrix"><thead><tr><th></th>']
    body.extend(f'<th class="rot">{_e(label)}</th>' for label in labels)
    body.append("</tr></thead><tbody>")
    for a, row_label in enumerate(labels):
        body.append(f'<tr><td class="name">{_e(row_label)}</td>')
        for b, col_label in enumerate(labels):
            found = per_square.get((a, b))
            if not found:
                body.append('<td class="cell cell-self" title="no VM pair"></td>')
                continue
            by_verdict = dict.fromkeys(_VERDICTS, 0)
            for total, c in found:
                by_verdict[cells[c].verdict] = by_verdict.get(cells[c].verdict, 0) + total
            main = max(by_verdict, key=lambda k: by_verdict[k])
            counts = ", ".join(f"{k} {n:,}" for k, n in by_verdict.items() if n)
            top = sorted(found, reverse=True)[:3]
            reasons = " | ".join(
                f"{total:,}: {'; '.join(cells[c].reasons) or cells[c].verdict}" for total, c in top
            )
            tip = f"{row_label} \u2192 {col_label}: {counts}. {reasons}"
            attrs = f'data-verdict="{_e(main)}" title="{_e(tip)}"'
            body.append(f'<td class="cell cell-{_e(main)}" {attrs}></td>')
        body.append("</tr>")
    body.append("</tbody></table>")
    return body


def render_matrix_html(
    matrix: Matrix, *, max_vms: int = _MAX_VM_HEAT, max_groups: int = _MAX_GROUP_HEAT
) -> str:
    """A heat map of the reachability matrix: rows are sources, columns destinations.

    Up to ``max_vms`` VMs it is drawn per VM; beyond, per group of equivalent VMs (each group's
    members are listed) up to ``max_groups`` groups, and beyond that per VNet pair, since a
    10,000 x 10,000 grid helps nobody (the 10,000-VM synthetic estate draws as 77 x 77 squares,
    about 5 MB). Each cell's tooltip gives the reason.
    """
    port = "any port" if matrix.port is None else f"port {matrix.port}"
    title = f"vnetdoctor reachability matrix: {len(matrix.vms)} VMs, {matrix.protocol} {port}"
    counts = matrix.counts()
    body = [
        f"<h1>{_e(title)}</h1>",
        '<p class="legend"><span><span class="cell cell-reachable">&nbsp;&nbsp;&nbsp;</span> '
        f"reachable ({counts.get('reachable', 0)})</span>"
        '<span><span class="cell cell-blocked">&nbsp;&nbsp;&nbsp;</span> '
        f"blocked ({counts.get('blocked', 0)})</span>"
        '<span><span class="cell cell-inconclusive">&nbsp;&nbsp;&nbsp;</span> '
        f"inconclusive ({counts.get('inconclusive', 0)})</span></p>",
        f"<p>{len(matrix.groups)} groups of equivalent VMs; {matrix.diagnosed} representative "
        "diagnoses. Rows are sources, columns destinations; hover a cell for the reason.</p>",
    ]
    if matrix.excluded:
        body.append(
            f"<p>Not covered: {len(matrix.excluded)} classic VM(s) "
            f"({_e(', '.join(matrix.excluded))}); ask <code>diagnose</code> about them.</p>"
        )
    by_vm = len(matrix.vms) <= max_vms
    if not by_vm and len(matrix.groups) > max_groups:
        body.append(
            f"<p>{len(matrix.groups):,} groups are too many to draw: squares are VNet pairs "
            "(source VNet by row), coloured by the verdict most of their VM pairs get; every "
            "pair is in <code>-o csv</code>.</p>"
        )
        body.extend(_vnet_heat(matrix))
        return _page(title, body)
    labels: list[str]
    if by_vm:
        labels = list(matrix.vms)
    else:
        labels = [f"G{g.index} ({len(g.members)})" for g in matrix.groups]
    body.append('<table class="heat" id="matrix"><thead><tr><th></th>')
    body.extend(f'<th class="rot">{_e(label)}</th>' for label in labels)
    body.append("</tr></thead><tbody>")
    for i, row_label in enumerate(labels):
        body.append(f'<tr><td class="name">{_e(row_label)}</td>')
        for j in range(len(labels)):
            if by_vm:
                cell = matrix.cell(matrix.vms[i], matrix.vms[j])
                tip = f"{matrix.vms[i]} \u2192 {matrix.vms[j]}: "
            else:
                cell = matrix.group_cell(i, j)
                tip = f"G{i} \u2192 G{j}: "
            if cell is None:
                body.append('<td class="cell cell-self" title="same VM"></td>')
                continue
            tip += cell.verdict + ("; " + "; ".join(cell.reasons) if cell.reasons else "")
            body.append(
                f'<td class="cell cell-{_e(cell.verdict)}" data-verdict="{_e(cell.verdict)}" '
                f'title="{_e(tip)}"></td>'
            )
        body.append("</tr>")
    body.append("</tbody></table>")
    if not by_vm:
        body.append('<h2>Groups</h2><table id="groups"><tr><th>Group</th><th>Members</th></tr>')
        for g in matrix.groups:
            members = ", ".join(g.members)
            body.append(f"<tr><td>G{g.index}</td><td>{_e(members)}</td></tr>")
        body.append("</table>")
    return _page(title, body)
