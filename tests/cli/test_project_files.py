"""The files users look for agree with the package and the code: the licence, the changelog, the
documented sample counts and files, and the README's word on ``--query``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from click.testing import CliRunner

from vnetdoctor import inventory, load_sample
from vnetdoctor.cli import cli
from vnetdoctor.samples import sample_path

REPO = Path(__file__).resolve().parents[2]


def test_license_file_is_the_license_pyproject_declares() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"]
    text = (REPO / "LICENSE").read_text()
    assert declared == "MIT"
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text


def test_changelog_keeps_a_changelog_with_an_unreleased_section() -> None:
    text = (REPO / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n")
    assert "[Keep a Changelog](https://keepachangelog.com/" in text
    sections = re.findall(r"^## \[([^\]]+)\]", text, flags=re.MULTILINE)
    assert sections[0] == "Unreleased"
    unreleased = text.split("## [Unreleased]", 1)[1].split("\n## ", 1)[0]
    kinds = re.findall(r"^### (\w+)", unreleased, flags=re.MULTILINE)
    assert kinds
    assert set(kinds) <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
    for flag in ("--brief", "--no-color", "COLUMNS"):
        assert flag in unreleased


def test_sample_doc_counts_the_vms_and_lists_every_file() -> None:
    doc = (REPO / "docs" / "sample.md").read_text()
    vms = inventory(load_sample()).vms
    classic = sum(1 for vm in vms if vm.kind == "classic")
    arm = sum(1 for vm in vms if vm.kind == "arm")
    assert f"with {arm} ARM VMs and {classic} classic VMs" in doc
    root = sample_path("contoso")
    for path in sorted(root.glob("*.json")):
        assert f"| `{path.name}` |" in doc, path.name


def test_readme_names_the_commands_without_query() -> None:
    readme = (REPO / "README.md").read_text()
    runner = CliRunner()
    for command in ("inventory", "diagnose", "ip-flow-verify", "effective-nsg", "next-hop",
                    "effective-routes", "diff", "collect", "flowlogs"):
        assert "--query" in runner.invoke(cli, [command, "--help"]).output, command
    for command in ("matrix", "verify"):
        assert "--query" not in runner.invoke(cli, [command, "--help"]).output, command
        assert f"`{command}`" in readme.split("--query JMESPATH` on every command", 1)[1][:200]
