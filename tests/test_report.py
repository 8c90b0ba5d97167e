"""`cnncalc report`: one self-contained HTML file, checked as text and in a real browser.

The browser tests drive Debian's Chromium with Playwright (`pip install playwright`; no `playwright install`: the
executable is /usr/bin/chromium) and skip, saying so, where either is missing.
"""
from __future__ import annotations

import json
import re
import shutil
import struct
from pathlib import Path

import pytest

import cnncalc
from cnncalc.render.report import report_data, report_html

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_report_is_one_self_contained_file(cli, tmp_path):
    out = tmp_path / "r.html"
    result = cli("report", "resnet18", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # nothing is fetched when it is opened: no external scripts, styles, images or fonts
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(http" not in html
    assert html.count("<script") == 2  # the data and the script, both inline
    data = json.loads(re.search(r'<script type="application/json" id="cnncalc-data">(.*?)</script>', html, re.S)
                      .group(1).replace("<\\/", "</"))
    summary = json.loads(cli("summary", "resnet18", "--format", "json").stdout)
    assert data[0]["totals"] == summary["totals"]  # the page carries the documented JSON
    assert [layer["name"] for layer in data[0]["layers"]] == [layer["name"] for layer in summary["layers"]]


def test_report_data_adds_groups_and_activation_bytes():
    a = cnncalc.load("resnet18").analyze()
    data = report_data(a)
    first_block = next(layer for layer in data["layers"] if layer["groups"])
    assert first_block["groups"][0] == "layer1" and data["groups"]["layer1"]["kind"] == "repeat"
    # conv1's output 64×112×112 float32 at batch 1: 64·112·112·4 = 3,211,264 bytes
    assert data["layers"][0]["activation_bytes"] == 64 * 112 * 112 * 4


def test_script_json_cannot_close_the_element():
    a = cnncalc.load("input: [3, 8, 8]\nname: '</script><b>'\nlayers: [relu]\n").analyze()
    html = report_html([a])
    assert html.count("</script>") == 2 and "&lt;/script&gt;&lt;b&gt;" in html


def test_inception_resnet_v2_report_is_under_2_mb():
    html = report_html([cnncalc.load("inception_resnet_v2").analyze()])
    assert len(html.encode("utf-8")) < 2_000_000


def test_bad_spec_exits_2(cli, tmp_path):
    result = cli("report", "nope.yaml", "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 2 and "no such file or zoo network" in result.stderr
    assert not (tmp_path / "r.html").exists()


# -- in a real browser ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def open_report(browser, path):
    """A page with the report loaded, and the console errors and page errors it produced."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: errors.append(f"fetched {r.url}") if not r.url.startswith(("file:", "data:")) else None)
    page.goto(path.as_uri())
    page.wait_for_function("window.cnncalcReport !== undefined", timeout=60_000)
    return page, errors


@pytest.fixture(scope="module")
def resnet18_page(browser, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "resnet18.html"
    path.write_text(report_html([cnncalc.load("resnet18").analyze()]), encoding="utf-8")
    page, errors = open_report(browser, path)
    yield page, errors
    page.close()


def visible(page, selector):
    return page.eval_on_selector_all(selector, "els => els.filter(e => e.getClientRects().length > 0).length")


def test_renders_without_console_errors(resnet18_page):
    page, errors = resnet18_page
    assert errors == []
    a = cnncalc.load("resnet18").analyze()
    assert visible(page, "tr.layer") == len(a.layers) == 69  # resnet18's 69 layers (JSON), all shown
    assert visible(page, "g.node") == 70  # and a box each, plus the input


def test_totals_shown_equal_the_json_totals(resnet18_page, cli):
    page, _ = resnet18_page
    totals = json.loads(cli("summary", "resnet18", "--format", "json").stdout)["totals"]
    shown = page.eval_on_selector_all("dd[data-value]", "els => els.map(e => [e.dataset.total, e.dataset.value, "
                                      "e.textContent])")
    assert len(shown) == 4  # the exact counts (bytes are shown in binary units)
    for key, value, text in shown:
        assert int(value) == totals[key]
        assert f"{totals[key]:,}" in text  # the exact figure, with separators, on the page
    assert {key for key, _, _ in shown} >= {"params", "macs", "flops", "layers"}


def test_collapsing_a_block_hides_its_rows_and_nodes(resnet18_page):
    page, _ = resnet18_page
    rows_before, nodes_before = visible(page, "tr.layer"), visible(page, "g.node")
    # layer1.1.basic1: conv, bn, relu, conv, bn, add, relu = 7 layers
    page.click('tr.group[data-group="layer1.1.basic1"] .toggle')
    assert visible(page, "tr.layer") == rows_before - 7
    assert visible(page, "g.node") == nodes_before - 7
    assert page.eval_on_selector('g.frame[data-name="layer1.1.basic1"]', "e => e.classList.contains('folded')")
    # the whole repeat layer1 (2 blocks of 7) from its frame in the diagram
    page.click('tr.group[data-group="layer1.1.basic1"] .toggle')  # unfold again
    page.eval_on_selector('text.frame-label[data-name="layer1"]', "e => e.dispatchEvent(new MouseEvent('click', {bubbles: true}))")
    assert visible(page, "tr.layer") == rows_before - 14
    assert visible(page, "g.node") == nodes_before - 14
    page.eval_on_selector('text.frame-label[data-name="layer1"]', "e => e.dispatchEvent(new MouseEvent('click', {bubbles: true}))")
    assert visible(page, "tr.layer") == rows_before


def test_clicking_links_rows_and_nodes(resnet18_page):
    page, _ = resnet18_page
    page.eval_on_selector('g.node[data-name="layer2.1.basic1.residual.body.conv1"]',
                          "e => e.dispatchEvent(new MouseEvent('click', {bubbles: true}))")
    assert page.eval_on_selector("tr.selected", "e => e.dataset.name") == "layer2.1.basic1.residual.body.conv1"
    page.click('tr.layer[data-name="fc"]')
    assert page.eval_on_selector("g.node.selected", "e => e.dataset.name") == "fc"
    assert page.eval_on_selector_all("tr.selected", "els => els.length") == 1


def test_sorting_and_metric(resnet18_page):
    page, _ = resnet18_page
    page.click('th[data-key="params"]')  # largest first
    first = page.eval_on_selector("tbody tr:not([hidden])", "e => e.dataset.name")
    # 512·512·9 = 2,359,296 params: layer4.1's second conv and both of layer4.2's; ties keep graph order
    assert first == "layer4.1.basic1.residual.body.conv2"
    page.click('th[data-key="params"]')
    page.click('th[data-key="params"]')  # back to the tree
    assert page.eval_on_selector("tbody tr", "e => e.dataset.group || e.dataset.name") == "conv1"
    fill = page.eval_on_selector('g.node[data-name="fc"] rect', "e => e.style.fill")
    page.select_option("#metric", "params")
    assert page.eval_on_selector('g.node[data-name="fc"] rect', "e => e.style.fill") != fill


def png_size(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_screenshot_is_sized_and_not_empty(resnet18_page, tmp_path):
    page, _ = resnet18_page
    png = page.screenshot(path=str(tmp_path / "report.png"))
    assert png_size(png) == (1400, 1000)
    assert len(png) > 20_000  # a blank 1400×1000 page compresses to a few KB


def test_side_by_side(cli, browser, tmp_path):
    out = tmp_path / "both.html"
    result = cli("report", "resnet18", "mobilenet_v2", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    page, errors = open_report(browser, out)
    assert errors == []
    assert page.eval_on_selector_all("section.network h2", "els => els.map(e => e.textContent)") == \
        ["resnet18", "mobilenet_v2"]
    boxes = page.eval_on_selector_all("section.network", "els => els.map(e => e.getBoundingClientRect().x)")
    assert boxes[0] < boxes[1]  # side by side, not one under the other
    page.close()


def test_compare_writes_a_side_by_side_report(cli, browser, tmp_path):
    out = tmp_path / "cmp.html"
    result = cli("compare", "resnet18", "resnet18@input=160", "--report", str(out))
    assert result.exit_code == 0, result.stderr
    page, errors = open_report(browser, out)
    assert errors == []
    inputs = page.eval_on_selector_all("section.network .meta", "els => els.map(e => e.textContent)")
    assert inputs[0].startswith("input 3×224×224") and inputs[1].startswith("input 3×160×160")
    page.close()
