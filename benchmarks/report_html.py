"""Size and opening time of `cnncalc report` pages (targets: Inception-ResNet v2 under 2 MB, open under 1 s).

Run:  python benchmarks/report_html.py [--runs N] [NETWORK ...]

For each network: the time to write the page (in-process, best of N), its size, and in headless Chromium
(Playwright driving Debian's /usr/bin/chromium; skipped without them) the best of N of: the report script's own
time (`cnncalc.report.scriptMs`, measured in the page) and the navigation's `loadEventEnd` (parse, script, layout).
The load average is printed beside them: on a shared machine the timings are noisy.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("networks", nargs="*", default=["resnet50", "inception_v3", "inception_resnet_v2"])
    args = parser.parse_args()
    import cnncalc
    from cnncalc.render.report import report_html

    print(f"load average: {open('/proc/loadavg').read().split()[:3]}")
    pages = {}
    tmp = tempfile.mkdtemp()
    for name in args.networks:
        a = cnncalc.load(name).analyze()
        best = float("inf")
        for _ in range(args.runs):
            t = time.perf_counter()
            html = report_html([a])
            best = min(best, time.perf_counter() - t)
        path = os.path.join(tmp, name + ".html")
        with open(path, "w", encoding="utf-8") as f:
            f.write(html)
        pages[name] = path
        print(f"{name:<22} {len(a.layers):>5} layers  write {best * 1e3:7.1f} ms  size {len(html.encode()) / 1e6:6.2f} MB")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright not installed: no browser timings")
        return
    if not os.path.exists(chromium):
        print("no chromium: no browser timings")
        return
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for name, path in pages.items():
            script, loaded = float("inf"), float("inf")
            for _ in range(args.runs):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto("file://" + path)
                page.wait_for_function("window.cnncalcReport !== undefined")
                script = min(script, page.evaluate("window.cnncalcReport.scriptMs"))
                loaded = min(loaded, page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
                page.close()
            print(f"{name:<22} headless chromium: script {script:7.1f} ms  loadEventEnd {loaded:7.1f} ms")
        browser.close()
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
