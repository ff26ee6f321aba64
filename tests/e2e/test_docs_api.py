"""/docs and /redoc from local assets (nothing from a CDN); keyed once keys exist unless public."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import CACHE_SECONDS
from mmrag.catalog import keys
from mmrag.catalog.db import Catalog
from mmrag.settings import Settings
from tests.conftest import make_settings

PAGES = ("/docs", "/redoc")
ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def create_admin_key(settings: Settings) -> str:
    catalog = Catalog(settings.resolved_catalog_url)
    with catalog.session() as session:
        _, key = keys.create_key(session, "ops", keys.parse_grants("admin", []))
    catalog.dispose()
    return key


def test_docs_pages_load_every_asset_from_this_server(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        for page in PAGES:
            response = client.get(page)
            assert response.status_code == 200 and "text/html" in response.headers["content-type"]
            urls = ASSET.findall(response.text)
            assert any(url.endswith(".js") for url in urls), response.text
            for url in urls:
                assert url.startswith("/"), f"{page} loads {url} from elsewhere"
                asset = client.get(url)
                assert asset.status_code == 200 and len(asset.content) > 1000, url
            assert "fonts.googleapis" not in response.text and "cdn." not in response.text
            # ReDoc's footer logo is its one remote file: the page's policy refuses images
            # from anywhere but here.
            assert "img-src 'self' data: blob:;" in response.headers["content-security-policy"]
        assert "/v1/search" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("public", [False, True])
def test_docs_need_a_key_once_keys_exist_unless_public(tmp_path: Path, public: bool) -> None:
    settings = make_settings(tmp_path / "data", docs_public=public)
    with TestClient(create_app(settings)) as client:
        assert client.get("/openapi.json").status_code == 200  # no keys yet: open
        key = create_admin_key(settings)
        time.sleep(CACHE_SECONDS + 0.1)  # the app rechecks whether keys exist this often
        for path in ("/openapi.json", *PAGES):
            anonymous = client.get(path)
            if public:
                assert anonymous.status_code == 200, path
            else:
                assert anonymous.status_code == 401, path
                assert anonymous.json()["error"]["code"] == "missing_api_key"
            keyed = client.get(path, headers={"Authorization": f"Bearer {key}"})
            assert keyed.status_code == 200, path
        # The assets say nothing about the service: the pages' scripts load without a key.
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
