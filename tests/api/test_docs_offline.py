"""/docs and /redoc work in an air-gapped lab: the pages reference only this server."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_reference_only_local_assets(client, page):
    r = await client.get(page)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    html = r.text
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.I), "external URL"
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert assets, html
    for asset in assets:
        assert asset.startswith("/"), asset
        got = await client.get(asset)
        assert got.status_code == 200 and len(got.content) > 500, asset
    # the schema the page loads is this server's
    assert "'/openapi.json'" in html or '"/openapi.json"' in html
    assert (await client.get("/openapi.json")).status_code == 200


async def test_swagger_asks_no_validator(client):
    html = (await client.get("/docs")).text
    assert '"validatorUrl": null' in html
