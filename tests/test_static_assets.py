"""Static assets: fingerprinted addresses cached for a year, gzip for CSS and JS when asked,
short caching for an address without the current fingerprint."""

from __future__ import annotations

import gzip
import re
from pathlib import Path


def test_pages_link_fingerprinted_assets_cached_for_a_year(client, app):
    html = client.get("/login").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.css\?v=([0-9a-f]{12}))"', html)
    js = re.search(r'src="(/static/js/app\.js\?v=[0-9a-f]{12})"', html)
    assert css and js
    response = client.get(css.group(1), buffered=True)
    assert response.status_code == 200
    assert response.cache_control.max_age == 31_536_000
    assert response.cache_control.immutable and response.cache_control.public
    assert "Accept-Encoding" in response.headers["Vary"]
    # The fingerprint is the content's hash: a changed file gets a new address.
    import hashlib

    content = (Path(app.static_folder) / "css" / "app.css").read_bytes()
    assert css.group(2) == hashlib.sha256(content).hexdigest()[:12]


def test_css_is_compressed_for_a_client_that_accepts_gzip(client):
    html = client.get("/login").get_data(as_text=True)
    url = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{12})"', html).group(1)
    plain = client.get(url, buffered=True)
    packed = client.get(url, headers={"Accept-Encoding": "gzip, br"}, buffered=True)
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert len(packed.get_data()) < len(plain.get_data()) / 2


def test_an_address_without_the_current_fingerprint_is_not_kept_long(client):
    for url in ("/static/css/app.css", "/static/css/app.css?v=000000000000"):
        response = client.get(url, headers={"Accept-Encoding": "gzip"}, buffered=True)
        assert response.status_code == 200
        assert (response.cache_control.max_age or 0) < 31_536_000
        assert "Content-Encoding" not in response.headers


def test_pages_themselves_are_not_compressed(client):
    """HTML carries the CSRF token next to reflected input: no compression (BREACH)."""
    response = client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in response.headers
