"""``vnetdoctor verify``: intents, exit codes, one-line YAML errors and JUnit XML."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vnetdoctor.errors import InputError
from vnetdoctor.samples import load_sample
from vnetdoctor.verify import check_intents, junit_xml, load_intents, parse_intents
from vnetdoctor.verify.intents import MAY, MUST_NOT, expand


def run(args: list[str]) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "vnetdoctor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


PASSING = """
intents:
  - name: web must not reach db on 5432 (the data tier denies the web tier)
    from: vm-web-01
    to: vm-db-01
    port: 5432
    expect: must not reach
  - name: the web subnet must not reach the payments subnet
    from: "vm-web-*"
    to: [vm-db-01, vm-db-02]
    port: 5432
    protocol: tcp
    expect: must not reach
"""

FAILING = (
    PASSING
    + """
  - name: web may reach db
    from: vm-web-01
    to: vm-db-01
    port: 5432
    expect: may reach
"""
)


def _write(tmp_path: Path, text: str, name: str = "intents.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _check_junit(path: Path, tests: int, failures: int) -> ET.Element:
    """Structure of the JUnit schema (testsuites > testsuite > testcase [> failure])."""
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert int(root.get("tests", "-1")) == tests
    assert int(root.get("failures", "-1")) == failures
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    for attr in ("name", "tests", "failures", "errors", "time"):
        assert suite.get(attr) is not None, attr
    float(suite.get("time", "x"))
    cases = suite.findall("testcase")
    assert len(cases) == tests
    assert int(suite.get("failures", "-1")) == failures
    seen_failures = 0
    for case in cases:
        assert case.get("name")
        assert case.get("classname")
        float(case.get("time", "x"))
        assert {child.tag for child in case} <= {"failure", "system-out"}
        for failure in case.findall("failure"):
            assert failure.get("message")
            assert failure.get("type")
            seen_failures += 1
    assert seen_failures == failures
    return root


def test_all_hold_exit_0(tmp_path: Path) -> None:
    junit = tmp_path / "out.xml"
    code, out, err = run(
        ["verify", str(_write(tmp_path, PASSING)), "--sample", "--junit", str(junit)]
    )
    assert (code, err) == (0, ""), out
    assert "2 passed, 0 failed" in out
    _check_junit(junit, 2, 0)


def test_one_fails_exit_1_and_junit_names_the_blocker(tmp_path: Path) -> None:
    junit = tmp_path / "out.xml"
    code, out, _ = run(
        ["verify", str(_write(tmp_path, FAILING)), "--sample", "--junit", str(junit)]
    )
    assert code == 1
    assert "FAIL  web may reach db" in out
    assert "2 passed, 1 failed" in out
    root = _check_junit(junit, 3, 1)
    failure = root.find(".//testcase[@name='web may reach db']/failure")
    assert failure is not None
    assert "NSG_DENY" in (failure.text or "")


def test_inconclusive_may_reach_fails_with_a_clear_message(tmp_path: Path) -> None:
    text = """
intents:
  - {name: app may reach db, from: vm-app-01, to: vm-db-01, port: 5432, expect: may reach}
"""
    code, out, _ = run(["verify", str(_write(tmp_path, text)), "--sample"])
    assert code == 1
    assert "inconclusive" in out
    assert "cannot be proven" in out
    assert "guest evidence" in out


def test_internet_and_cidr_selectors() -> None:
    sample = load_sample("contoso")
    assert len(expand(sample, "Internet")) == 3
    inside = expand(sample, "10.2.1.0/24")
    assert inside
    assert all(s.startswith("/subscriptions/") for s in inside)
    assert expand(sample, "192.0.2.0/24") == ["192.0.2.1", "192.0.2.254"]
    spec = parse_intents(
        {
            "intents": [
                {"from": "Internet", "to": "vm-db-*", "port": 5432, "expect": "must not reach"}
            ]
        },
        Path("x.yaml"),
    )
    (result,) = check_intents(sample, spec.intents)
    assert len(result.pairs) == 9
    assert spec.intents[0].expect == MUST_NOT


@pytest.mark.parametrize("port", [None, 5432])
def test_readme_internet_intent_holds_on_the_sample(port: int | None) -> None:
    """{from: Internet, to: db-*, expect: must not reach}: the db VMs have no public path, which
    is a firm block (NO_PUBLIC_PATH), with no guest evidence needed."""
    intent: dict[str, object] = {"from": "Internet", "to": "vm-db-*", "expect": "must not reach"}
    if port is not None:
        intent["port"] = port
    spec = parse_intents({"intents": [intent]}, Path("x.yaml"))
    (result,) = check_intents(load_sample("contoso"), spec.intents)
    assert result.ok, result.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("intents:\n  - from: a\n    to: [b\n", "intents.yaml:4: invalid YAML"),
        ("intents:\n\t- x\n", "intents.yaml:2: invalid YAML"),
        ("- 1\n- 2\n", "each intent must be a mapping"),
        ("intents:\n  - {from: a, to: b}\n", "intents.yaml:2: missing 'expect'"),
        ("intents:\n  - {from: a, to: b, expect: sometimes}\n", "intents.yaml:2: expect must be"),
        ("intents:\n  - {from: a, to: b, expect: may reach, port: 70000}\n", "port must be"),
        ("intents:\n  - {from: a, to: b, expect: may reach, prot: tcp}\n", "unknown key(s) prot"),
        ("hello\n", "expected a mapping with an 'intents' list"),
        ("intents: []\n", "the 'intents' list is empty"),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path: Path, text: str, expected: str) -> None:
    code, out, err = run(["verify", str(_write(tmp_path, text)), "--sample"])
    assert code == 2, (out, err)
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_missing_file_exit_2(tmp_path: Path) -> None:
    code, _, err = run(["verify", str(tmp_path / "nope.yaml"), "--sample"])
    assert code == 2
    assert "nope.yaml" in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_vm_fails_that_intent_only(tmp_path: Path) -> None:
    text = PASSING + "  - {from: vm-nope, to: vm-db-01, port: 5432, expect: must not reach}\n"
    code, out, _ = run(["verify", str(_write(tmp_path, text)), "--sample"])
    assert code == 1
    assert "2 passed, 1 failed" in out
    assert "vm-nope" in out


def test_load_intents_lines_and_names(tmp_path: Path) -> None:
    spec = load_intents(_write(tmp_path, FAILING))
    assert [i.line for i in spec.intents] == [3, 8, 15]
    assert spec.intents[2].expect == MAY
    assert spec.intents[1].destinations == ("vm-db-01", "vm-db-02")
    bad = {"from": "a", "to": "b", "expect": "may reach", "protocol": "gre", "__line__": 3}
    with pytest.raises(InputError, match=r"intents\.yaml:3: protocol"):
        parse_intents({"intents": [bad]}, tmp_path / "intents.yaml")


def test_junit_escapes_hostile_names(tmp_path: Path) -> None:
    sample = load_sample("contoso")
    hostile = "<img src=x onerror=alert(1)> & \x1b[31m\"'"
    spec = parse_intents(
        {
            "intents": [
                {
                    "name": hostile,
                    "from": "vm-web-01",
                    "to": "vm-db-01",
                    "port": 5432,
                    "expect": "may reach",
                }
            ]
        },
        tmp_path / "x.yaml",
    )
    out = tmp_path / "j.xml"
    out.write_text(junit_xml(check_intents(sample, spec.intents)), encoding="utf-8")
    root = _check_junit(out, 1, 1)
    case = root.find(".//testcase")
    assert case is not None
    assert case.get("name", "").startswith("<img src=x")


def test_guest_evidence_proves_may_reach(tmp_path: Path) -> None:
    """The sample's healthy pair (docs/sample.md, pair 1) is reachable once the guests speak."""
    from vnetdoctor.samples import sample_path

    guest = sample_path("contoso") / "guest"
    text = f"""
guest:
  vm-app-01: [{guest}/vm-app-01/ip-addr.txt, {guest}/vm-app-01/iptables-save.txt]
  vm-db-01:
    - {guest}/vm-db-01/ip-addr.txt
    - {guest}/vm-db-01/iptables-save.txt
    - {guest}/vm-db-01/ss-tulpen.txt
  nva-fw-01:
    - {guest}/nva-fw-01/iptables-save.txt
    - {guest}/nva-fw-01/sysctl-ip-forward.txt
    - {guest}/nva-fw-01/ip-addr.txt
intents:
  - {{name: app may reach db, from: vm-app-01, to: vm-db-01, port: 5432, expect: may reach}}
  - {{name: db must not reach app, from: vm-app-01, to: vm-db-01, port: 5432,
      expect: must not reach}}
"""
    junit = tmp_path / "j.xml"
    code, out, err = run(["verify", str(_write(tmp_path, text)), "--sample", "--junit", str(junit)])
    assert code == 1, (out, err)
    assert "PASS  app may reach db" in out
    assert "FAIL  db must not reach app" in out
    assert "is reachable, but must not be" in out
    _check_junit(junit, 2, 1)


def test_missing_guest_file_is_bad_input(tmp_path: Path) -> None:
    text = "guest:\n  vm-db-01: nope.txt\nintents: []\n"
    code, _, err = run(["verify", str(_write(tmp_path, text)), "--sample"])
    assert code == 2
    assert "guest vm-db-01: no such file or folder: nope.txt" in err
