"""Open a page in headless Chromium and report what happened, for test_report.

Chromium is driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: commands on fd 3, replies on fd 4, each a JSON
message ended by a NUL byte), so no driver package and no port are needed.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")

# Run in the page after it has loaded; returns what the tests check.
PAGE_FACTS = """JSON.stringify({
  title: document.title,
  flagged: (document.getElementById('n-flagged') || {}).textContent || null,
  images: Array.from(document.images).map(i => ({
    alt: i.alt, complete: i.complete, width: i.naturalWidth})),
  anomalyRows: document.querySelectorAll('#anomaly-table tbody tr').length,
  periodRows: document.querySelectorAll('#period-table tbody tr').length,
  anomalyLabels: Array.from(
    document.querySelectorAll('#anomaly-table tbody tr td:first-child'),
    td => td.textContent),
  scripts: document.scripts.length,
  handlers: Array.from(document.querySelectorAll('*')).filter(
    e => Array.from(e.attributes).some(a => a.name.startsWith('on'))).length,
  pwned: window.__pwned === undefined ? null : String(window.__pwned),
  text: document.body.textContent,
})"""


def find() -> str | None:
    """Path of a Chromium executable, or None (``VAEANOMALY_CHROMIUM`` first)."""
    named = os.environ.get("VAEANOMALY_CHROMIUM")
    if named:
        return shutil.which(named) or (named if Path(named).exists() else None)
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium; :meth:`visit` opens a page in a fresh tab."""

    def __init__(self, executable: str, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="vaeanomaly-chromium-")
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # Move the child's ends above 4 so that dup2 onto 3 and 4 cannot clobber
        # one with the other; dup2 makes the copies inheritable.
        high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
        high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)

        def wire() -> None:
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self._process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--remote-debugging-pipe",
                "--no-sandbox",  # CI containers run as root
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--hide-scrollbars",
                f"--user-data-dir={self._profile.name}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=wire,
        )
        for fd in (to_chrome_r, from_chrome_w, high_r, high_w):
            os.close(fd)
        self._write, self._read = to_chrome_w, from_chrome_r
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def close(self) -> None:
        """Ask Chromium to quit; kill it if it does not."""
        try:
            self._send("Browser.close", wait=False)
            self._process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()
        for fd in (self._write, self._read):
            os.close(fd)
        self._profile.cleanup()

    def _send(self, method: str, params=None, session=None, wait=True) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        if not wait:
            return {}
        reply = self._until(lambda m: m.get("id") == self._next_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _until(self, done) -> dict:
        """Read messages (keeping events) until ``done(message)``; return it."""
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if message.get("method") == "Page.javascriptDialogOpening":
                    # An open alert() holds up the load event: dismiss it.
                    self._send(
                        "Page.handleJavaScriptDialog",
                        {"accept": False},
                        session=message.get("sessionId"),
                        wait=False,
                    )
                if done(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise TimeoutError(f"Chromium did not answer in {self.timeout} s")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk

    def visit(self, path: Path, screenshot: Path | None = None) -> dict:
        """Load ``path`` and return its facts plus what the browser saw.

        Returns a dict with ``PAGE_FACTS``' keys and ``console`` (messages and
        uncaught exceptions), ``requests`` (URLs other than the page and
        ``data:``) and ``dialogs`` (alert/confirm/prompt texts).
        """
        url = Path(path).resolve().as_uri()
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )["sessionId"]
        self.events = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self._send(f"{domain}.enable", session=session)
        self._send("Page.navigate", {"url": url}, session=session)
        self._until(
            lambda m: (
                m.get("method") == "Page.loadEventFired"
                and m.get("sessionId") == session
            )
        )
        result = self._send(
            "Runtime.evaluate",
            {"expression": PAGE_FACTS, "returnByValue": True},
            session=session,
        )
        facts = json.loads(result["result"]["value"])
        if screenshot is not None:
            data = self._send(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True},
                session=session,
            )["data"]
            import base64

            Path(screenshot).write_bytes(base64.b64decode(data))
        events = [e for e in self.events if e.get("sessionId") == session]
        facts["console"] = [
            _describe(e)
            for e in events
            if e["method"]
            in ("Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded")
        ]
        facts["requests"] = [
            e["params"]["request"]["url"]
            for e in events
            if e["method"] == "Network.requestWillBeSent"
            and e["params"]["request"]["url"] != url
            and not e["params"]["request"]["url"].startswith("data:")
        ]
        facts["dialogs"] = [
            e["params"].get("message", "")
            for e in events
            if e["method"] == "Page.javascriptDialogOpening"
        ]
        self._send("Target.closeTarget", {"targetId": target})
        return facts


def _describe(event: dict) -> str:
    params = event["params"]
    if event["method"] == "Runtime.consoleAPICalled":
        args = " ".join(
            str(a.get("value", a.get("description", ""))) for a in params["args"]
        )
        return f"console.{params['type']}: {args}"
    if event["method"] == "Runtime.exceptionThrown":
        return f"exception: {params['exceptionDetails'].get('text', '')}"
    entry = params["entry"]
    return f"{entry['level']} ({entry['source']}): {entry['text']}"
