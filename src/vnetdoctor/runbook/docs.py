"""Render docs/runbook.md from the step registry and the code catalogue, so the two never drift.

Regenerate with ``python -m vnetdoctor.runbook.docs > docs/runbook.md``; a test checks it.
"""

from __future__ import annotations

import vnetdoctor.runbook.runner  # noqa: F401  (registers the steps)
from vnetdoctor.codes import NAME_RESOLUTION
from vnetdoctor.runbook.findings import CODES, CodeSpec
from vnetdoctor.runbook.registry import REGISTRY

_INTRO = """\
# The runbook: nine steps, their finding codes

`vnetdoctor diagnose` runs the nine checks of Microsoft's guide *Troubleshooting connectivity
problems between Azure VMs*, in the guide's order. Each step ends `pass`, `fail`, `warn`,
`unknown` (evidence missing or a feature not modelled: the finding says which, and the command
that gathers it) or `skip` (does not apply). The verdict is `blocked` when any step fails,
`reachable` when every applicable step passes (a warning is a pass with a remark), otherwise
`inconclusive`. Finding codes are stable API: scripts may match on them.

A step whose check raised ends `error`, with the finding `INTERNAL_ERROR`: that is a bug in
vnetdoctor, not a fact about the network. The other steps still run and are reported; the
verdict counts the step as `unknown` (so a run with an error is never `reachable`), and
`vnetdoctor diagnose` prints the report, then one line on stderr naming the step and what it
raised, and exits 70 (`--debug` prints the traceback).
"""


def _table(codes: list[tuple[str, CodeSpec]]) -> list[str]:
    rows = ["| code | default status | meaning | fix |", "|---|---|---|---|"]
    rows += [
        f"| `{code}` | {spec.status.value} | {spec.title} | {spec.remediation or '—'} |"
        for code, spec in codes
    ]
    return rows


_NAMES = """\
Step 0 runs only when `--to` is a DNS name (not an IP, not a resource of the snapshot): it
appears in `diagnose`'s output, text and JSON, only then, so the output for any other destination
has the nine steps alone. When the name gives no address (NXDOMAIN, unknown), steps 1-9 are
`skip`. `vnetdoctor resolve` reports the same codes with the chain (docs/resolve.md,
docs/semantics/dns.md)."""


def render_runbook_md() -> str:
    out = [_INTRO]
    zero = next(s for s in REGISTRY if s.number == 0)
    out += [f"## 0. `{zero.id}`: {zero.title}", "", " ".join(zero.doc.split()), "",
            " ".join(_NAMES.split()), ""]
    out += [*_table([(c, s) for c, s in CODES.items() if c in NAME_RESOLUTION]), ""]
    for spec in (s for s in REGISTRY if s.number != 0):
        out += [f"## {spec.number}. `{spec.id}`: {spec.title}", "", " ".join(spec.doc.split()), ""]
        out += [*_table([(c, s) for c, s in CODES.items() if s.step == spec.number]), ""]
    out += ["## Codes any step may report", ""]
    out += [*_table([(c, s) for c, s in CODES.items()
                     if s.step == 0 and c not in NAME_RESOLUTION]), ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render_runbook_md(), end="")
