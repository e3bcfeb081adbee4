"""The docs site as a reader meets it: built with ``mkdocs build --strict``, then each page in a browser.

The site is built once for this module, into a temporary directory. Every page
of ``docs/`` is then opened in one headless Chromium (Debian's ``chromium``
package; ``.ci/run`` installs it), driven over the DevTools protocol, at
1280 x 2000 px, and its screenshot must show content where the page's text
goes. Set ``DOCS_SCREENSHOTS`` to a directory to keep the screenshots there.

A screenshot is read without an imaging library: PNG scanlines are filtered,
each byte stored as its difference from a prediction made from its left,
upper and upper-left neighbours (or stored as is, filter 0). In an area of
one colour every prediction is that colour, so a nonzero filtered byte is a
pixel unlike a neighbour: a row with one inside the text column shows
something there.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from test_docs import MAX_COLUMNS, ROOT
from test_docs_reference import builtin_docstrings

WIDTH, HEIGHT = 1280, 2000
TEXT_COLUMN = (320, 1200)
"""The pixels (x from, to) of the text column at 1280 px: right of the navigation sidebar."""

MIN_ROWS_OF_TEXT = 150
"""Rows of the text column that must show something: about ten lines of text."""


@attrs.frozen
class Site:
    """A built site: its directory, and the HTML of each page of docs/ by the page's path."""

    root: Path
    pages: dict[str, str]


def page_html(site_dir: Path, page: Path) -> Path:
    """Where mkdocs writes a page (``use_directory_urls``): docs/howto/caps.md is howto/caps/index.html."""
    relative = page.relative_to(ROOT / "docs").with_suffix("")
    return site_dir / ("index.html" if relative.as_posix() == "index" else relative / "index.html")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site_dir = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    pages = {}
    for page in sorted((ROOT / "docs").rglob("*.md")):
        path = page_html(site_dir, page)
        assert path.is_file(), f"{page.relative_to(ROOT)} was not built"
        pages[page.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8")
    return Site(root=site_dir, pages=pages)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_every_code_block_on_the_site_fits_in_100_columns(site: Site) -> None:
    """Markdown's blocks, the docstrings' examples and the signatures, as rendered."""
    wide = [
        f"{name}: {line[:60]}... ({len(line)} columns)"
        for name, page in site.pages.items()
        for block in re.findall(r"<pre[^>]*>(.*?)</pre>", page, flags=re.DOTALL)
        for line in _text(block).splitlines()
        if len(line) > MAX_COLUMNS
    ]
    assert wide == []


def test_signatures_are_formatted(site: Site) -> None:
    """ruff (the docs extra) breaks a long signature into one parameter a line, at 100 columns."""
    core = site.pages["docs/reference/core.md"]
    signature = re.search(r'id="trio_toolpar\.Executor".*?<div class="doc-signature[^>]*>(.*?)</div>', core, re.DOTALL)
    assert signature is not None
    lines = _text(signature[1]).splitlines()
    assert lines[:3] == ["Executor(", "    registry: Registry,", "    *,"]
    assert lines[-1] == ")"


def test_no_page_shows_a_builtins_docstring(site: Site) -> None:
    long_ones = [doc for doc in builtin_docstrings() if len(doc) >= 40]
    texts = {name: " ".join(_text(page).split()) for name, page in site.pages.items() if "/reference/" in name}
    assert len(texts) == 14
    shown = {name: doc[:40] for name, text in texts.items() for doc in long_ones if doc in text}
    assert shown == {}


# -- screenshots ---------------------------------------------------------------------------


def _chunks(png: bytes) -> dict[bytes, bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    found: dict[bytes, bytes] = {}
    at = 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        found[kind] = found.get(kind, b"") + png[at + 8 : at + 8 + length]
        at += 12 + length
    return found


def rows_showing_something(png: bytes, x_from: int, x_to: int) -> int:
    """How many pixel rows of an 8-bit RGB(A) PNG have a pixel unlike its neighbours between two x."""
    chunks = _chunks(png)
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8 and colour_type in (2, 6), "an 8-bit RGB or RGBA screenshot"
    bpp = 3 if colour_type == 2 else 4
    stride = width * bpp + 1
    data = zlib.decompress(chunks[b"IDAT"])
    start, end = (x_from + 1) * bpp, min(x_to, width) * bpp  # from x_from + 1: its left neighbour is x_from
    showing = 0
    for y in range(height):
        row = data[y * stride : (y + 1) * stride]
        kind, pixels = row[0], row[1 + start : 1 + end]
        if kind == 0:  # stored as is: compare with its first pixel
            showing += pixels != pixels[:bpp] * (len(pixels) // bpp)
        else:  # Sub, Up, Average, Paeth: nonzero where a pixel differs from a neighbour
            showing += pixels.count(0) != len(pixels)
    return showing


def _png(rows: list[bytes], width: int) -> bytes:
    """An RGB PNG of the given filtered scanlines (each: filter byte, then the row's bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def test_the_blank_check_tells_a_blank_page_from_one_with_a_line() -> None:
    white = b"\0" + b"\xff" * 30  # 10 white pixels, stored as is
    same_as_above = b"\2" + b"\0" * 30
    dot = b"\2" + b"\0" * 15 + b"\x80\x80\x80" + b"\0" * 12  # pixel 5 darker than the one above
    assert rows_showing_something(_png([white, same_as_above, same_as_above], 10), 0, 10) == 0
    assert rows_showing_something(_png([white, dot, same_as_above], 10), 0, 10) == 1
    assert rows_showing_something(_png([white, dot, same_as_above], 10), 6, 10) == 0  # outside the range
    striped = b"\0" + b"\xff" * 15 + b"\0\0\0" + b"\xff" * 12
    assert rows_showing_something(_png([striped, white], 10), 0, 10) == 1


class Browser:
    """One headless Chromium, driven over the DevTools protocol on a pipe: fast enough to open every page.

    Chromium reads commands on its fd 3 and writes replies and events on fd 4,
    each a JSON object ending in a NUL byte (``--remote-debugging-pipe``).
    """

    def __init__(self, chromium: str) -> None:
        to_chromium, self._commands = os.pipe()
        self._replies, from_chromium = os.pipe()

        def pipes_at_3_and_4() -> None:  # in the child, before exec: copies, so that each is inheritable
            read, write = os.dup(to_chromium), os.dup(from_chromium)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self.process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--remote-debugging-pipe"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=pipes_at_3_and_4,
        )
        os.close(to_chromium)
        os.close(from_chromium)
        self._received = b""
        self._pending: list[dict[str, Any]] = []
        self._last_id = 0

    def send(self, method: str, session: str | None = None, **params: Any) -> int:
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        return self._last_id

    def wait_for(self, wanted: Callable[[dict[str, Any]], bool], timeout: float = 60) -> dict[str, Any]:
        """The first message, received or still to come, that ``wanted`` accepts."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self._pending:
                if wanted(message):
                    self._pending.remove(message)
                    return message
            left = deadline - time.monotonic()
            assert left > 0, "Chromium did not answer in time"
            if select.select([self._replies], [], [], left)[0]:
                chunk = os.read(self._replies, 1 << 20)
                assert chunk, "Chromium exited"
                *complete, self._received = (self._received + chunk).split(b"\0")
                self._pending += [json.loads(raw) for raw in complete]

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        sent = self.send(method, session, **params)
        reply = self.wait_for(lambda message: message.get("id") == sent)
        assert "error" not in reply, f"{method}: {reply['error']}"
        result: dict[str, Any] = reply["result"]
        return result

    def close(self) -> None:
        with contextlib.suppress(OSError, AssertionError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            os.close(self._commands)
            os.close(self._replies)


def screenshots(chromium: str, pages: dict[str, Path]) -> Iterator[tuple[str, bytes]]:
    """Each page by name, and its screenshot at WIDTH x HEIGHT px, as PNG."""
    browser = Browser(chromium)
    try:
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        tab = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        browser.call(
            "Emulation.setDeviceMetricsOverride", tab, width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False
        )
        browser.call("Page.enable", tab)
        for name, path in pages.items():
            navigated = browser.call("Page.navigate", tab, url=path.as_uri())
            assert "errorText" not in navigated, f"{name}: {navigated['errorText']}"
            browser.wait_for(
                lambda message: message.get("method") == "Page.loadEventFired" and message.get("sessionId") == tab
            )
            yield name, base64.b64decode(browser.call("Page.captureScreenshot", tab, format="png")["data"])
    finally:
        browser.close()


def test_every_page_shows_its_text_in_a_browser(site: Site, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium is not None, "this test needs a browser (apt-get install chromium)"
    shots = Path(os.environ.get("DOCS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    rows = {}
    pages = {name: page_html(site.root, ROOT / name) for name in site.pages}
    for name, png in screenshots(chromium, pages):
        # docs/howto/caps.md: howto-caps.png
        (shots / (name.removeprefix("docs/").removesuffix(".md").replace("/", "-") + ".png")).write_bytes(png)
        rows[name] = rows_showing_something(png, *TEXT_COLUMN)
    assert len(rows) == len(site.pages) > 30
    empty = {name: count for name, count in rows.items() if count < MIN_ROWS_OF_TEXT}
    assert empty == {}, f"pages whose text column is (nearly) empty: {empty}"
