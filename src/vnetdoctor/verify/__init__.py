"""Intent checks for CI: "web may reach db on 1433", "nothing from the Internet reaches db".

See :mod:`vnetdoctor.verify.intents` for the YAML format and :mod:`vnetdoctor.verify.junit` for
the JUnit XML report.
"""

from __future__ import annotations

from vnetdoctor.verify.intents import (
    Intent,
    IntentResult,
    PairResult,
    check_intents,
    load_intents,
    parse_intents,
)
from vnetdoctor.verify.junit import junit_xml

__all__ = [
    "Intent",
    "IntentResult",
    "PairResult",
    "check_intents",
    "junit_xml",
    "load_intents",
    "parse_intents",
]
