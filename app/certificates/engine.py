"""The one document engine: Jinja print templates -> WeasyPrint -> PDF bytes.

* Print templates and the print stylesheet live in ``templates/pdf/``; no screen CSS.
* One shared ``FontConfiguration`` and one parsed print stylesheet per process: the CJK
  font faces (single-face Noto Sans SC OTFs extracted by ``scripts/install.sh`` into
  ``instance/fonts/``) are loaded once and subset per document (libharfbuzz-subset).
* A fixed URL fetcher: documents resolve URLs against ``BASE_URL`` and may load only the
  app's own static files and the instance fonts. ``file://``, ``http(s)://`` anywhere else,
  ``data:`` and every other scheme are refused, so no user-given value can make a
  document fetch a remote resource or a local file.
"""

from __future__ import annotations

import mimetypes
import threading
from pathlib import Path

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

ROOT = Path(__file__).resolve().parent.parent.parent
STATIC_DIR = ROOT / "static"
TEMPLATE_DIR = ROOT / "templates" / "pdf"
FONT_DIR = ROOT / "instance" / "fonts"
FONT_FILES = ("NotoSansSC-Regular.otf", "NotoSansSC-Bold.otf")
# A reserved name (RFC 2606): never resolvable, so nothing can leave the process.
BASE_URL = "https://linli.invalid/"


class RefusedURL(ValueError):
    """A document asked for a URL the engine does not serve."""


class LocalFetcher(URLFetcher):
    """Serves ``BASE_URL/static/<path>`` from the static folder and ``BASE_URL/fonts/<name>``
    from the instance fonts; refuses everything else."""

    def __init__(self, static_dir: Path = STATIC_DIR, font_dir: Path = FONT_DIR):
        super().__init__(allowed_protocols=("https",), allow_redirects=False)
        self.static_dir = static_dir.resolve()
        self.font_dir = font_dir.resolve()

    def resolve(self, url: str) -> Path:
        if not url.startswith(BASE_URL) or "?" in url or "#" in url:
            raise RefusedURL(f"refused URL: {url[:80]}")
        rest = url[len(BASE_URL) :]
        if rest.startswith("fonts/"):
            name = rest[len("fonts/") :]
            if name not in FONT_FILES:
                raise RefusedURL(f"refused font: {name[:40]}")
            return self.font_dir / name
        if rest.startswith("static/"):
            path = (self.static_dir / rest[len("static/") :]).resolve()
            if not path.is_relative_to(self.static_dir) or not path.is_file():
                raise RefusedURL(f"refused static path: {rest[:80]}")
            return path
        raise RefusedURL(f"refused URL: {url[:80]}")

    def fetch(self, url, headers=None):  # noqa: ANN001, ANN201
        path = self.resolve(url)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".otf":
            mime = "font/otf"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})


class Engine:
    """Process-wide renderer state: font configuration, fetcher, parsed print stylesheet."""

    def __init__(self) -> None:
        self.fetcher = LocalFetcher()
        self.font_config = FontConfiguration()
        css_text = (TEMPLATE_DIR / "print.css").read_text(encoding="utf-8")
        self.stylesheet = CSS(
            string=css_text,
            base_url=BASE_URL,
            url_fetcher=self.fetcher,
            font_config=self.font_config,
        )
        self.lock = threading.Lock()
        self._shared_key: str | None = None
        self._shared_doc = None

    def write_pdf(self, html: str) -> bytes:
        """Finished HTML -> PDF bytes (deterministic: the same HTML gives the same bytes)."""
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=self.fetcher)
        # Fontconfig state is shared: one render at a time per process.
        with self.lock:
            return document.write_pdf(
                stylesheets=[self.stylesheet],
                font_config=self.font_config,
                uncompressed_pdf=False,
            )

    def write_interleaved(
        self, html: str, shared_html: str, per_card: int, cards: int
    ) -> bytes | None:
        """Batch of cards: each card's own pages (``html``) followed by the pages that are the
        same on every card (``shared_html``, laid out once per process and reused). One PDF,
        fonts subset once. None when a card did not take exactly ``per_card`` pages."""
        with self.lock:
            if self._shared_key != shared_html:
                self._shared_doc = HTML(
                    string=shared_html, base_url=BASE_URL, url_fetcher=self.fetcher
                ).render(stylesheets=[self.stylesheet], font_config=self.font_config)
                self._shared_key = shared_html
            document = HTML(string=html, base_url=BASE_URL, url_fetcher=self.fetcher).render(
                stylesheets=[self.stylesheet], font_config=self.font_config
            )
            if len(document.pages) != per_card * cards:
                return None
            pages = []
            for card in range(cards):
                pages += document.pages[card * per_card : (card + 1) * per_card]
                pages += self._shared_doc.pages
            return document.copy(pages).write_pdf()


_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = Engine()
    return _engine


def html_to_pdf(html: str) -> bytes:
    return get_engine().write_pdf(html)


def html_to_pdf_interleaved(html: str, shared_html: str, per_card: int, cards: int):  # noqa: ANN201
    return get_engine().write_interleaved(html, shared_html, per_card, cards)


def release_memory() -> None:
    """Give the memory a finished render freed back to the system (a batch render process
    would otherwise keep the high-water mark of its largest chunk for the rest of the job)."""
    import contextlib
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def in_batch(render, *args):  # noqa: ANN001, ANN002, ANN201
    """A batch render process's chunk: ``render(*args)`` (``html_to_pdf`` or
    ``html_to_pdf_interleaved``), then the memory released."""
    try:
        return render(*args)
    finally:
        release_memory()


def render_html(template_name: str, context: dict) -> str:
    """Render a print template (``templates/pdf/<name>``) with the app's Jinja environment."""
    from flask import render_template

    if not template_name.startswith("pdf/"):
        template_name = "pdf/" + template_name
    return render_template(template_name, **context)


def render_pdf(template_name: str, context: dict) -> bytes:
    """The one entry point: a print template and its context -> PDF bytes."""
    return html_to_pdf(render_html(template_name, context))


def pool_init() -> None:
    """Initializer of the batch render processes: fonts and stylesheet loaded once each.
    The pool imports only this module (WeasyPrint, no database, no models)."""
    get_engine()
