"""``verify --junit`` output validated against a real JUnit schema.

The schema is Jenkins' ``junit-10.xsd`` (xUnit plugin), the one pytest validates its own JUnit
output against; it ships in pytest's source distribution, and ``.ci/run`` extracts it to
``.ci/cache/junit-10.xsd`` (or point ``VNETDOCTOR_JUNIT_XSD`` at a copy).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vnetdoctor.verify import junit_xml
from vnetdoctor.verify.intents import Intent, IntentResult

xmlschema = pytest.importorskip("xmlschema", reason="the test extra (xmlschema) is not installed")

REPO = Path(__file__).resolve().parents[2]
XSD = Path(os.environ.get("VNETDOCTOR_JUNIT_XSD", REPO / ".ci" / "cache" / "junit-10.xsd"))

pytestmark = pytest.mark.skipif(
    not XSD.is_file(),
    reason=f"JUnit schema not found at {XSD} (.ci/run fetches it from pytest's sdist)",
)

INTENTS = """
intents:
  - {name: web must not reach db, from: vm-web-01, to: vm-db-01, port: 5432, expect: must not reach}
  - {name: web may reach db, from: vm-web-01, to: vm-db-01, port: 5432, expect: may reach}
  - {name: "<b>&amp; \\"quoted\\" ]]> web", from: "vm-web-*", to: vm-db-02, port: 5432,
     expect: may reach}
"""


@pytest.fixture(scope="module")
def schema() -> object:
    return xmlschema.XMLSchema(str(XSD))


def test_cli_junit_validates(tmp_path: Path, schema: object) -> None:
    intents = tmp_path / "intents.yaml"
    intents.write_text(INTENTS, encoding="utf-8")
    out = tmp_path / "junit.xml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "vnetdoctor",
            "verify",
            str(intents),
            "--sample",
            "--junit",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr  # two of the three intents fail
    schema.validate(str(out))  # type: ignore[attr-defined]
    assert schema.is_valid(str(out))  # type: ignore[attr-defined]


def test_control_characters_and_empty_results_validate(schema: object, tmp_path: Path) -> None:
    """XML 1.0 cannot carry most control characters: they are replaced, and the file stays valid;
    an intents file with no intents gives a valid, empty suite."""
    intent = Intent(
        name="bell\x07 and nul\x00", sources=("a",), destinations=("b",), expect="may reach"
    )
    result = IntentResult(intent=intent, pairs=(), error="blocked\x1b[31m by NSG_DENY")
    for results in ([result], []):
        path = tmp_path / "j.xml"
        path.write_text(junit_xml(results), encoding="utf-8")
        schema.validate(str(path))  # type: ignore[attr-defined]


def test_the_schema_is_strict_enough_to_catch_a_bad_file(schema: object, tmp_path: Path) -> None:
    """A check that cannot fail proves nothing: a misplaced element and a non-numeric time fail."""
    intent = Intent(name="x", sources=("a",), destinations=("b",), expect="may reach")
    good = junit_xml([IntentResult(intent=intent, pairs=(), error="no VM")])
    for bad in (
        good.replace("<testcase ", "<bogus/><testcase ", 1),
        good.replace('time="0.000"', 'time="soon"', 1),
    ):
        path = tmp_path / "bad.xml"
        path.write_text(bad, encoding="utf-8")
        assert not schema.is_valid(str(path))  # type: ignore[attr-defined]
