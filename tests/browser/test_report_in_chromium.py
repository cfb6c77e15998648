"""Open the HTML report in headless Debian Chromium (Playwright, no browser download).

Skipped, with the reason, when /usr/bin/chromium or the playwright package is absent:
CI installs them with ``apt-get install -y chromium`` and ``pip install playwright``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vnetdoctor.api import diagnose
from vnetdoctor.report.html import render_html, render_matrix_html
from vnetdoctor.samples import load_sample

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

if not CHROMIUM.exists():
    pytest.skip(
        "Debian chromium not installed at /usr/bin/chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright not installed (pip install playwright)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Playwright gives every launch a fresh, empty profile (it refuses --user-data-dir here).
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _open(browser: Any, page_html: str, path: Path) -> tuple[Any, list[str], list[str]]:
    path.write_text(page_html, encoding="utf-8")
    page = browser.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, requests, errors


def test_report_renders_with_marked_hop(browser: Any, tmp_path: Path) -> None:
    sample = load_sample("contoso")
    result = diagnose(sample, "vm-web-01", "vm-db-01", 5432)
    page, requests, errors = _open(browser, render_html(result, sample), tmp_path / "report.html")
    try:
        page.wait_for_selector("svg g.hop")
        assert page.locator("#verdict").text_content() == "blocked"
        assert page.locator("#verdict").is_visible()
        steps = page.locator("#steps tr.step")
        assert steps.count() == 9
        assert [steps.nth(i).get_attribute("data-step") for i in range(9)] == [
            str(n) for n in range(1, 10)
        ]
        hops = page.locator("svg g.hop")
        assert hops.count() == len(result.path)
        failing = page.locator("svg g.hop.failing")
        assert failing.count() == 1
        assert failing.first.get_attribute("id") == "failing-hop"
        assert "nsg-snet-data" in (failing.first.text_content() or "")
        box = failing.first.bounding_box()
        assert box is not None
        assert box["width"] > 50
        assert box["height"] > 30
        assert page.locator("#blockers .blocker").count() == len(result.blockers)
        # Nothing fetched but the file itself, and no script ran or failed.
        assert requests == [(tmp_path / "report.html").as_uri()]
        assert errors == []
        # The hostile rule description exists only as text.
        assert page.locator("img").count() == 0
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        page.close()


def test_hostile_text_does_not_execute(browser: Any, tmp_path: Path) -> None:
    import msgspec

    sample = load_sample("contoso")
    result = diagnose(sample, "vm-web-01", "vm-db-01", 5432)
    payload = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    hops = tuple(msgspec.structs.replace(h, name=payload, detail=payload) for h in result.path)
    page_html = render_html(msgspec.structs.replace(result, path=hops), sample)
    page, requests, errors = _open(browser, page_html, tmp_path / "hostile.html")
    try:
        dialogs: list[str] = []
        page.on("dialog", lambda d: dialogs.append(d.message))
        assert page.locator("img").count() == 0
        assert page.locator("body script").count() == 0
        assert payload in (page.locator("#hops").text_content() or "")
        assert dialogs == []
        assert errors == []
        assert requests == [(tmp_path / "hostile.html").as_uri()]
    finally:
        page.close()


def test_matrix_heat_map_renders(browser: Any, tmp_path: Path) -> None:
    from vnetdoctor.analyses.matrix import reference_matrix

    sample = load_sample("contoso")
    m = reference_matrix(sample, 5432, vms="vm-*")
    page, requests, errors = _open(browser, render_matrix_html(m), tmp_path / "matrix.html")
    try:
        n = len(m.vms)
        assert page.locator("#matrix td[data-verdict]").count() == n * (n - 1)
        assert requests == [(tmp_path / "matrix.html").as_uri()]
        assert errors == []
        page.screenshot(path=str(tmp_path / "matrix.png"), full_page=True)
    finally:
        page.close()


def test_matrix_by_vnet_pair_renders(browser: Any, tmp_path: Path) -> None:
    """The view large matrices get: one square per VNet pair, with the counts in its tooltip."""
    from vnetdoctor.analyses.compose import build_matrix

    sample = load_sample("contoso")
    m = build_matrix(sample, 5432)
    html = render_matrix_html(m, max_vms=5, max_groups=5)
    page, requests, errors = _open(browser, html, tmp_path / "by-vnet.html")
    try:
        squares = page.locator("#matrix td[data-verdict]")
        vnets = {g.vnet for g in m.groups}
        assert 0 < squares.count() <= len(vnets) ** 2
        title = squares.first.get_attribute("title") or ""
        assert "\u2192" in title
        assert any(f"{v} " in title for v in ("reachable", "blocked", "inconclusive"))
        assert requests == [(tmp_path / "by-vnet.html").as_uri()]
        assert errors == []
        page.screenshot(path=str(tmp_path / "by-vnet.png"), full_page=True)
    finally:
        page.close()


@pytest.mark.parametrize(
    ("src", "dst", "port", "node", "failing_kind"),
    [
        ("vm-fwclient-01", "vm-svc-01", 22, "node-firewall", "firewall"),  # pair 36
        ("vm-jump-01", "20.23.62.20", 443, "node-lb", "nsg-inbound"),  # pair 46
    ],
)
def test_firewall_and_load_balancer_nodes_render(
    browser: Any, tmp_path: Path, src: str, dst: str, port: int, node: str, failing_kind: str
) -> None:
    sample = load_sample("contoso")
    result = diagnose(sample, src, dst, port)
    path = tmp_path / "report.html"
    page, requests, errors = _open(browser, render_html(result, sample), path)
    try:
        page.wait_for_selector(f"svg g.hop.{node}")
        special = page.locator(f"svg g.hop.{node}")
        assert special.count() == 1
        box = special.first.bounding_box()
        assert box is not None
        assert box["height"] > 64  # taller than a plain hop: its facts are drawn
        facts = special.first.locator("text.fact")
        assert facts.count() >= 3
        failing = page.locator("#failing-hop")
        assert failing.get_attribute("data-kind") == failing_kind
        assert failing.locator("g.fail-mark").count() == 1
        assert requests == [path.as_uri()]
        assert errors == []
    finally:
        page.close()


def test_bidi_controls_show_as_escapes(browser: Any, tmp_path: Path) -> None:
    """A name holding U+202E would make Chromium show the address after it reversed."""
    import msgspec

    sample = load_sample("contoso")
    result = diagnose(sample, "vm-web-01", "vm-db-01", 5432)
    bidi = "\u202e\u2066\u200f\u061c"
    hops = tuple(msgspec.structs.replace(h, name=f"{bidi}4.1.0.01") for h in result.path)
    page_html = render_html(msgspec.structs.replace(result, path=hops), sample)
    page, _, errors = _open(browser, page_html, tmp_path / "bidi.html")
    try:
        shown = page.locator("#hops").text_content() or ""
        assert not any(c in shown for c in bidi)
        assert "\\u202e\\u2066\\u200f\\u061c4.1.0.01" in shown
        assert errors == []
    finally:
        page.close()
