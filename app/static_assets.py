"""Static assets: fingerprinted addresses cached for a year, and compressed when asked.

- Every ``url_for("static", filename=...)`` carries ``v=<first 12 hex of the file's SHA-256>``
  (the fingerprint in the address: no build step, the file keeps its name). A request whose
  ``v`` matches the file's current content is answered with ``Cache-Control: public,
  max-age=31536000, immutable``; any other (no ``v``, an old one) keeps Flask's short default,
  so a browser never keeps a stale file under a new address.
- CSS and JS are sent gzip-compressed to a client that accepts it (computed once per file
  version and kept in memory). A proxy that compresses itself sees ``Content-Encoding`` and
  leaves them alone. HTML pages are not compressed here: they carry the CSRF token next to
  reflected input (a search text), which compression would expose to a BREACH-style attack.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

YEAR = 31_536_000
COMPRESSIBLE = {"text/css", "text/javascript", "application/javascript"}
MIN_SIZE = 1024


def _file(app: Flask, filename: str) -> Path | None:
    """The file under the static folder (resolved once per name: every page links a few)."""
    paths: dict[str, Path] = app.extensions.setdefault("linli_static_paths", {})
    if filename in paths:
        return paths[filename]
    root = Path(app.static_folder or "").resolve()
    path = (root / filename).resolve()
    if not path.is_file() or root not in path.parents:
        return None
    paths[filename] = path
    return path


def _fingerprint(app: Flask, filename: str) -> str | None:
    """The file's content hash, kept per (file, modification time)."""
    path = _file(app, filename)
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:  # removed since it was resolved
        app.extensions["linli_static_paths"].pop(filename, None)
        return None
    store: dict[Any, Any] = app.extensions.setdefault("linli_static", {})
    key = (filename, stat.st_mtime_ns, stat.st_size)
    if key not in store:
        store[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return store[key]


def _gzipped(app: Flask, filename: str, version: str) -> bytes | None:
    path = _file(app, filename)
    if path is None:
        return None
    store: dict[Any, Any] = app.extensions.setdefault("linli_static_gz", {})
    key = (filename, version)
    if key not in store:
        store[key] = gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)
    return store[key]


def init_app(app: Flask) -> None:
    @app.url_defaults
    def _fingerprint_static(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "v" not in values and values.get("filename"):
            version = _fingerprint(app, values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def _static_caching(response: Response) -> Response:
        if request.endpoint != "static" or response.status_code != 200:
            return response
        filename = (request.view_args or {}).get("filename", "")
        version = _fingerprint(app, filename)
        if version is None or request.args.get("v") != version:
            return response
        response.cache_control.public = True
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
        response.cache_control.no_cache = None
        response.vary.add("Accept-Encoding")
        if (
            response.mimetype in COMPRESSIBLE
            and "gzip" in request.headers.get("Accept-Encoding", "")
            and (response.content_length or 0) >= MIN_SIZE
        ):
            body = _gzipped(app, filename, version)
            if body is not None:
                sent = response.response
                if hasattr(sent, "close"):
                    sent.close()  # the file wrapper of the uncompressed file
                response.direct_passthrough = False
                response.set_data(body)
                response.headers["Content-Encoding"] = "gzip"
                response.headers.pop("ETag", None)  # the ETag named the uncompressed bytes
        return response
