"""JUnit XML for intent results, in the shape Azure DevOps and GitHub Actions read.

One ``<testsuite>`` per intents file inside ``<testsuites>``; one ``<testcase>`` per intent with
a ``<failure message=... type=...>`` when it does not hold (the body lists every failing pair).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from vnetdoctor.verify.intents import IntentResult

# XML 1.0 forbids most control characters, even escaped.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def junit_xml(results: Sequence[IntentResult], suite: str = "vnetdoctor.verify") -> str:
    failures = sum(1 for r in results if not r.ok)
    total = sum(r.seconds for r in results)
    root = ET.Element(
        "testsuites",
        name="vnetdoctor verify",
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        time=f"{total:.3f}",
    )
    ts = ET.SubElement(
        root,
        "testsuite",
        name=_x(suite),
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=f"{total:.3f}",
    )
    for r in results:
        case = ET.SubElement(
            ts,
            "testcase",
            name=_x(r.intent.name),
            classname=_x(f"{suite}.{r.intent.expect.replace(' ', '_')}"),
            time=f"{r.seconds:.3f}",
        )
        if not r.ok:
            failure = ET.SubElement(
                case, "failure", message=_x(r.message[:500]), type="IntentViolated"
            )
            lines = [p.message for p in r.pairs if not p.ok] or [r.message]
            failure.text = _x("\n".join(lines))
        else:
            out = ET.SubElement(case, "system-out")
            out.text = _x(r.message)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
