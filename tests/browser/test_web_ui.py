"""The web UI in a real browser (Debian's Chromium driven by Playwright) against a real
API on a loopback port and a real worker process: upload, job progress, search, answer,
and what a citation opens."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx
import pytest

from mmrag.catalog import keys
from mmrag.catalog.db import Catalog
from mmrag.catalog.models import ApiKeyRow
from mmrag.settings import Settings
from tests.browser.serving import served_with_worker, uvicorn_thread
from tests.conftest import make_settings
from tests.media import png_bytes, write_pdf
from tests.media_audio import wav_bytes

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, FloatRect, Page


def expect(locator: Any) -> Any:
    """Playwright's auto-retrying assertions (imported late: the module skips without it)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("MMRAG_TEST_CHROMIUM", "/usr/bin/chromium")
# Not the default 72: one PDF point is 4/3 render pixels, so the highlight must scale.
RENDER_DPI = 96
PAGES = [
    "Release notes for the garden shed. The door was painted green in spring.",
    "The cooling loop works by pumping water through the radiator, where two fans "
    "carry the heat away. The pump runs whenever the engine is warm.",
]


def _unavailable(reason: str) -> None:
    """Skip on a developer machine without a browser; in CI a missing browser is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        found = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield found
        found.close()


class Served(NamedTuple):
    url: str
    settings: Settings


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Serve the API with uvicorn on a free loopback port, with one real worker process."""
    # Unmerged sound windows, so a search shows several moments of one recording.
    settings = make_settings(
        tmp_path_factory.mktemp("ui") / "data",
        page_render_dpi=RENDER_DPI,
        merge_span_seconds=0,
    )
    with served_with_worker(settings) as url:
        yield Served(url, settings)


@pytest.fixture
def base_url(served: Served) -> str:
    return served.url


@pytest.fixture
def page(
    browser: Browser, base_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Page]:
    """A fresh page on the UI; a screenshot and the console log are kept if the test fails."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.set_default_timeout(20_000)
    failed_before = request.session.testsfailed
    try:
        yield page
    finally:
        if request.session.testsfailed > failed_before:  # the call's report is already in
            _keep_artefacts(page, request.node.name, tmp_path, console)
        context.close()


def _keep_artefacts(page: Page, name: str, tmp_path: Path, console: list[str]) -> None:
    folder = Path(os.environ.get("MMRAG_TEST_ARTIFACTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / f"{name}.png"
    with contextlib.suppress(Exception):  # a crashed page cannot be photographed
        page.screenshot(path=str(shot), full_page=True)
    (folder / f"{name}.console.txt").write_text("\n".join(console))
    print(f"browser artefacts of {name}: {shot} (and .console.txt)")


def _drop_files(page: Page, selector: str, files: list[tuple[str, str, bytes]]) -> None:
    """Drop files on ``selector`` the way a drag from the desktop does (a DataTransfer)."""
    payload = [
        {"name": name, "type": kind, "data": base64.b64encode(data).decode()}
        for name, kind, data in files
    ]
    transfer = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
                dt.items.add(new File([bytes], f.name, { type: f.type }));
            }
            return dt;
        }""",
        payload,
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def _box(page: Page, selector: str) -> FloatRect:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box


def test_upload_search_answer_and_open_citation(page: Page, tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "cooling.pdf", PAGES).read_bytes()
    page.goto("/#/collections")
    page.fill("#collection-name", "manuals")
    page.click("#collection-form button[type=submit]")
    page.wait_for_selector("#collection-title:has-text('manuals')")

    _drop_files(page, "#drop-zone", [("cooling.pdf", "application/pdf", pdf)])
    job = page.locator(".job[data-status='done']")
    job.wait_for(timeout=60_000)
    assert "1 indexed, 0 skipped, 0 failed of 1" in job.inner_text()
    assert (
        page.locator("#documents tr[data-status='indexed']").inner_text().startswith("cooling.pdf")
    )

    page.goto("/#/")
    page.wait_for_selector("#search-collection option[value='manuals']", state="attached")
    page.fill("#search-text", "cooling loop radiator")
    page.click("#search-button")
    first_text = page.locator(".group[data-modality='text'] .hit").first
    first_text.wait_for()
    assert "cooling loop" in first_text.inner_text()
    assert "page 2" in first_text.inner_text()
    first_text.locator(".page .bbox").wait_for()  # the hit's page, its passage outlined

    page.fill("#search-text", "How does the cooling loop work?")
    page.click("#ask-button")
    citation = page.locator("#answer-text button.cite").first
    citation.wait_for()
    assert "radiator" in page.inner_text("#answer-text")
    citation.click()

    mark = page.locator("#viewer .page .bbox")
    mark.wait_for()
    assert "page 2" in page.inner_text("#viewer-title")
    assert page.get_attribute("#viewer .page", "data-page") == "2"
    _check_highlight(page)


def _check_highlight(page: Page) -> None:
    """The outline sits on the cited passage's box, scaled from PDF points to the render."""
    bbox = [float(v) for v in (page.get_attribute("#viewer .bbox", "data-bbox") or "").split(",")]
    x0, y0, x1, y1 = bbox
    assert 60 <= x0 < x1 <= 552 and 60 <= y0 < y1 <= 420, bbox  # the textbox on the page
    natural: Any = page.eval_on_selector(
        "#viewer .page img", "img => [img.naturalWidth, img.naturalHeight]"
    )
    assert natural == [round(612 * RENDER_DPI / 72), round(792 * RENDER_DPI / 72)]
    img, mark = _box(page, "#viewer .page img"), _box(page, "#viewer .bbox")
    scale = img["width"] / 612  # shown pixels per PDF point
    assert abs(mark["x"] - (img["x"] + x0 * scale)) < 2
    assert abs(mark["y"] - (img["y"] + y0 * scale)) < 2
    assert abs(mark["width"] - (x1 - x0) * scale) < 2
    assert abs(mark["height"] - (y1 - y0) * scale) < 2


def test_sound_hits_play_from_their_time(page: Page, base_url: str) -> None:
    httpx.post(f"{base_url}/v1/collections", json={"name": "sounds"}).raise_for_status()
    page.goto("/#/collections/sounds")
    page.set_input_files("#upload-input", files=[_file("tone.wav", "audio/wav", wav_bytes(22))])
    page.locator(".job[data-status='done']").wait_for(timeout=60_000)

    page.goto("/#/")
    page.select_option("#search-collection", "sounds")
    page.fill("#search-text", "a steady tone")
    page.click("#search-button")
    hits = page.locator(
        ".group[data-modality='audio'] .hit:has(audio[data-start]:not([data-start='0']))"
    )
    hits.first.wait_for()
    assert hits.count() >= 2  # 10 s windows every 5 s: several start after 0
    inline = hits.first.locator("audio")
    start = float(inline.get_attribute("data-start") or "nan")
    assert (inline.get_attribute("src") or "").endswith(f"#t={start:g},{start + 10:g}")
    _wait_time(page, inline.element_handle(), start)

    hits.nth(0).locator("button.open").click()
    player = page.locator("#viewer audio")
    player.wait_for()
    _wait_time(page, player.element_handle(), start)
    player.evaluate("p => { p.dataset.marker = 'first'; }")
    later = float(hits.nth(1).locator("audio").get_attribute("data-start") or "nan")
    hits.nth(1).locator("button.open").click()  # same recording: the open player seeks
    _wait_time(page, player.element_handle(), later)
    assert player.get_attribute("data-marker") == "first"


def _file(name: str, kind: str, data: bytes) -> FilePayload:
    return {"name": name, "mimeType": kind, "buffer": data}


def _wait_time(page: Page, media: Any, seconds: float) -> None:
    """Wait until the player has loaded and stands at ``seconds``."""
    page.wait_for_function(
        "([m, t]) => m.readyState >= 1 && Math.abs(m.currentTime - t) < 0.05",
        arg=[media, seconds],
    )


def test_errors_are_readable_and_the_key_is_sent(page: Page) -> None:
    sent: list[str | None] = []
    page.on(
        "request",
        lambda r: sent.append(r.headers.get("authorization")) if "/v1/" in r.url else None,
    )
    page.goto("/#/")
    page.wait_for_selector("body[data-ready]")
    page.wait_for_load_state("networkidle")
    assert sent and all(h is None for h in sent)  # no key set: no header

    page.evaluate("document.getElementById('search-collection').replaceChildren()")
    page.evaluate(
        "() => { const o = document.createElement('option'); o.value = 'nowhere';"
        " document.getElementById('search-collection').append(o); }"
    )
    page.fill("#search-text", "anything")
    page.click("#search-button")
    error = page.locator("#errors .error").first
    error.wait_for()
    assert error.get_attribute("data-code") == "collection_not_found"
    assert "nowhere" in error.inner_text()

    sent.clear()
    page.fill("#api-key", "secret-key-1")
    page.click("#key-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("localStorage.getItem('mmrag.apiKey')") == "secret-key-1"
    assert sent and all(h == "Bearer secret-key-1" for h in sent)


def test_with_a_key_every_call_and_picture_carries_it(
    page: Page, served: Served, tmp_path: Path
) -> None:
    catalog = Catalog(served.settings.resolved_catalog_url)
    with catalog.session() as session:
        key_id, key = keys.create_key(session, "ui", keys.parse_grants("admin", []))
    try:
        time.sleep(2.1)  # the API caches "are there keys?" for 2 s
        page.goto("/#/collections")
        refused = page.locator("#errors .error[data-code='missing_api_key']")
        refused.wait_for()
        assert "Bearer" in refused.inner_text()

        page.fill("#api-key", key)
        page.click("#key-form button[type=submit]")
        page.fill("#collection-name", "keyed")
        page.click("#collection-form button[type=submit]")
        page.wait_for_selector("#collection-title:has-text('keyed')")
        pdf = write_pdf(tmp_path / "keyed.pdf", PAGES).read_bytes()
        _drop_files(page, "#drop-zone", [("keyed.pdf", "application/pdf", pdf)])
        page.locator(".job[data-status='done']").wait_for(timeout=60_000)

        page.goto("/#/")
        page.select_option("#search-collection", "keyed")
        page.fill("#search-text", "cooling loop radiator")
        page.click("#search-button")
        figure = page.locator(".group[data-modality='text'] .hit .page").first
        figure.locator(".bbox").wait_for()  # drawn once the render (fetched with the key) loads
        render = figure.locator("img")
        assert (render.get_attribute("src") or "").startswith("blob:")
        assert render.evaluate("img => img.naturalWidth") == round(612 * RENDER_DPI / 72)
    finally:
        # Deleted, not revoked: a data dir that once had a key stays locked when it is revoked.
        with catalog.session() as session:
            session.delete(session.get(ApiKeyRow, key_id))
        catalog.dispose()
        time.sleep(2.1)  # the tests after this one run keyless: let the API's cache forget it


def _ingest(base_url: str, collection: str, files: list[tuple[str, bytes]]) -> None:
    """Create ``collection`` and upload ``files`` through the API (as `mmrag ingest` would)."""
    httpx.post(f"{base_url}/v1/collections", json={"name": collection}).raise_for_status()
    sent = httpx.post(
        f"{base_url}/v1/collections/{collection}/documents",
        files=[("files", (name, data)) for name, data in files],
    )
    sent.raise_for_status()
    deadline = time.monotonic() + 180  # the worker's first job loads its models
    while httpx.get(f"{base_url}/v1/jobs/{sent.json()['job_id']}").json()["status"] != "done":
        assert time.monotonic() < deadline, "ingestion did not finish"
        time.sleep(0.2)


def test_a_new_search_clears_the_previous_answer_and_viewer(
    page: Page, base_url: str, tmp_path: Path
) -> None:
    pdf = write_pdf(tmp_path / "cooling.pdf", PAGES).read_bytes()
    _ingest(base_url, "clearing", [("cooling.pdf", pdf)])
    page.goto("/#/")
    page.select_option("#search-collection", "clearing")
    page.fill("#search-text", "How does the cooling loop work?")
    page.click("#ask-button")
    page.locator("#answer-text button.cite").first.click()
    page.locator("#viewer .page .bbox").wait_for()

    page.fill("#search-text", "garden shed door")
    page.click("#search-button")
    page.locator(".group[data-modality='text'] .hit").first.wait_for()
    assert page.locator("#answer").is_hidden() and page.locator("#viewer").is_hidden()
    assert page.inner_text("#answer-text") == "" and page.inner_text("#viewer-body") == ""


def test_collection_counts_failed_reasons_and_the_picker_follow_uploads(
    page: Page, base_url: str
) -> None:
    _ingest(base_url, "older", [("old.txt", b"an old note about herons")])
    page.goto("/#/")
    page.select_option("#search-collection", "older")  # the user's explicit choice, first
    page.goto("/#/collections")
    page.fill("#collection-name", "counted")
    page.click("#collection-form button[type=submit]")
    count = page.locator("#collection-list li[data-name='counted'] .count")
    expect(count).to_have_text(" 0 documents")

    page.set_input_files("#upload-input", files=[_file("one.txt", "text/plain", b"kingfisher")])
    page.locator(".job[data-status='done']").wait_for(timeout=60_000)
    expect(count).to_have_text(" 1 document")
    page.set_input_files("#upload-input", files=[_file("empty.txt", "text/plain", b"")])
    page.locator(".job[data-status='done']").nth(1).wait_for(timeout=60_000)
    expect(count).to_have_text(" 2 documents")
    failed = page.locator("#documents tr[data-status='failed']")
    expect(failed.locator(".reason")).to_have_text("empty.txt is empty")
    assert "failed: empty_file" in failed.inner_text()

    page.goto("/#/")  # starts on what was just uploaded, not on the earlier choice
    picker = page.locator("#search-collection")
    expect(picker.locator("option[value='counted']")).to_have_text("counted (2)")
    expect(picker).to_have_value("counted")
    _ingest(base_url, "viacli", [("cli.txt", b"ingested by another client")])
    page.reload()  # documents reached another collection since: it is the default now
    expect(picker).to_have_value("viacli")


def test_image_query_without_the_image_space_says_why(
    page: Page, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The embedded default here: no CLIP weights, so the image space is disabled.
    settings = make_settings(
        tmp_path_factory.mktemp("noimage") / "data",
        image_model=Settings.model_fields["image_model"].default,
        allow_random_weights=False,
    )
    with uvicorn_thread(settings) as url:
        httpx.post(f"{url}/v1/collections", json={"name": "pics"}).raise_for_status()
        page.goto(f"{url}/#/")
        page.wait_for_selector("#search-collection option[value='pics']", state="attached")
        page.set_input_files("#search-file", files=[_file("q.png", "image/png", png_bytes())])
        page.click("#search-button")
        notice = page.locator("#no-results")
        notice.wait_for()
        text = notice.inner_text()
        assert text.startswith("No image search: space 'image' is disabled"), text
        assert "MMRAG_IMAGE_MODEL_PATH" in text
        assert page.locator("#degraded li").count() >= 1  # one line per channel left out


def test_docs_pages_render_offline_from_local_assets(page: Page, base_url: str) -> None:
    here = (base_url, "blob:", "data:")
    elsewhere: list[str] = []
    refused: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(here) else elsewhere.append(r.url))
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto("/docs")
    page.locator(".opblock-summary-path[data-path='/v1/search']").first.wait_for()
    page.goto("/redoc")
    page.get_by_text("/v1/search").first.wait_for()
    page.wait_for_load_state("networkidle")
    # ReDoc's footer asks for its vendor's logo; the page's policy refuses it unsent.
    for url in elsewhere:
        assert any(url in line and "blocked" in line for line in refused), (url, refused)
