"""What an idle dashboard tab costs: CPU of the Helix process and of the browser, and bytes on the socket.

Starts the fake upstream and `helix serve` (a free port, a temporary directory, default `[dashboard]
refresh_seconds`), sends a few requests so the pages have data, then measures over the same window:

  no tab        the server alone (its own timers: writer, key reload, cache sync)
  idle tab      the overview open in Debian's headless Chromium, nothing happening
  hidden tab    the same tab after the page is told it is hidden (visibilitychange)

CPU is read from /proc (user + system time of the server, and of every Chromium process this script
started), as a percentage of one core.

    python bench/dashboard_idle.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Page, sync_playwright

from tests.fake_upstream import FakeState, FakeUpstream, ServerThread
from tests.test_dashboard import serve

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TICKS = os.sysconf("SC_CLK_TCK")
HIDE = (
    "Object.defineProperty(document, 'hidden', {get: () => true});"
    " document.dispatchEvent(new Event('visibilitychange'))"
)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def browser_seconds() -> float:
    total = 0.0
    for pid in descendants(os.getpid()):
        try:
            if "chrom" in Path(f"/proc/{pid}/comm").read_text():
                total += cpu_seconds(pid)
        except OSError:
            continue
    return total


def measure(server_pid: int, seconds: float, page: Page | None, received: list[int]) -> tuple[float, float, int]:
    """CPU % of one core for the server and the browser, and socket bytes received, over `seconds`."""
    server0, browser0, bytes0 = cpu_seconds(server_pid), browser_seconds(), sum(received)
    start = time.monotonic()
    if page is None:
        time.sleep(seconds)
    else:
        page.wait_for_timeout(seconds * 1000)
    elapsed = time.monotonic() - start
    server = 100 * (cpu_seconds(server_pid) - server0) / elapsed
    browser = 100 * (browser_seconds() - browser0) / elapsed
    return server, browser, sum(received) - bytes0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    state = FakeState()
    upstream = ServerThread(FakeUpstream(state)).start()
    try:
        with serve(Path(tempfile.mkdtemp(prefix="helix-idle-")), upstream.url) as helix:
            client = helix.client()
            for i in range(20):
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": f"question {i % 7}"}], user=f"u{i % 4}"
                )
            pid = helix.process.pid
            rows = [("no tab", *measure(pid, args.seconds, None, [0]))]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                received: list[int] = []
                page.on("websocket", lambda ws: ws.on("framereceived", lambda f: received.append(len(f))))
                page.goto(f"{helix.url}/dashboard/?range=24h")
                page.locator("canvas").first.wait_for()
                page.wait_for_timeout(5_000)  # let the first paint and the charts settle
                rows.append(("idle tab", *measure(pid, args.seconds, page, received)))
                page.evaluate(HIDE)
                page.wait_for_timeout(1_000)
                rows.append(("hidden tab", *measure(pid, args.seconds, page, received)))
                browser.close()
    finally:
        upstream.stop()
    print(f"{args.seconds:.0f} s per row; CPU as % of one core")
    print(f"{'':12} {'server':>8} {'browser':>8} {'socket bytes in':>16}")
    for name, server, browser_cpu, received_bytes in rows:
        print(f"{name:12} {server:7.2f}% {browser_cpu:7.2f}% {received_bytes:16,}")


if __name__ == "__main__":
    main()
