"""Browser tests: Debian's chromium drives a live server on a temporary SQLite file.

Every test in this directory is marked ``e2e``; run them with ``HTMX_LOCAL=1 pytest -m e2e``.
Each test that uses ``page`` runs twice, on a phone and on a desktop viewport. A failing test
leaves a screenshot in ``test-artifacts/e2e/<test-name>.png``; ``shot(step)`` saves one at a
key step.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page, expect
from werkzeug.serving import make_server

from app import create_app
from app.auth import services as auth_services
from app.extensions import db

PASSWORD = "Test-Passw0rd!"  # meets the staff rules
CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
E2E_DIR = Path(__file__).resolve().parent

VIEWPORTS = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
    "desktop": {"viewport": {"width": 1366, "height": 900}},
}
TIMEOUT_MS = 20_000  # generous: CI machines have 2 cores and run the server in-process
# expect() waits as long as actions do: a loaded 2-core machine can be slow.
expect.set_options(timeout=TIMEOUT_MS)


@pytest.hookimpl(tryfirst=True)  # before `-m e2e` deselects anything
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def artifact_name(item_name: str) -> str:
    """``test_login[phone]`` -> ``test_login-phone`` (safe as a file name)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", item_name).strip("-")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call" and report.failed:
        page = getattr(item, "funcargs", {}).get("page")
        if page is not None and not page.is_closed():
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            path = ARTIFACTS / f"{artifact_name(item.name)}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
                report.sections.append(("e2e screenshot", str(path)))
            except Exception as exc:  # noqa: BLE001 - a failed screenshot must not hide the failure
                report.sections.append(("e2e screenshot", f"could not save: {exc}"))
    return report


@pytest.fixture(scope="session", autouse=True)
def _fresh_artifacts() -> None:
    """Drop the previous run's screenshots so every PNG there belongs to this run."""
    if ARTIFACTS.is_dir():
        for old in ARTIFACTS.glob("*.png"):
            old.unlink(missing_ok=True)


# ---- browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


# ---- live server --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    database = tmp_path_factory.mktemp("e2e") / "linli-e2e.db"
    application = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}",
        HTMX_LOCAL=True,
        SERVER_NAME=None,
    )
    htmx_file = (
        Path(application.static_folder)
        / "vendor"
        / (f"htmx-{application.config['HTMX_VERSION']}.min.js")
    )
    if not htmx_file.exists():
        pytest.fail(f"{htmx_file} is missing: run `bash scripts/install.sh`")
    with application.app_context():
        db.create_all()  # the connect hook puts the file in WAL mode
        db.session.remove()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    """pytest-base-url's fixture, pointed at the live server (pytest-playwright passes it on)."""
    return live_server


# ---- users --------------------------------------------------------------------------------


@pytest.fixture
def make_user(live_app: Flask) -> Callable:
    """Create a user straight in the database; returns its (unique) username."""

    def factory(role: str = "staff", *, must_change_password: bool = False, **fields) -> str:
        username = f"{role}_{uuid.uuid4().hex[:8]}"
        with live_app.app_context():
            auth_services.create_user(
                username,
                fields.pop("display_name", f"测试{role}"),
                role,
                fields.pop("password", PASSWORD),
                must_change_password=must_change_password,
                **fields,
            )
            db.session.commit()
            db.session.remove()
        return username

    return factory


# ---- pages --------------------------------------------------------------------------------


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def console_errors() -> list[str]:
    return []


@pytest.fixture
def page(
    new_context: Callable, base_url: str, viewport: str, console_errors: list[str]
) -> Iterator[Page]:
    context = new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **VIEWPORTS[viewport])
    context.set_default_timeout(TIMEOUT_MS)
    # Belt and braces: report every CSP violation on the console, whatever chromium logs.
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => console.error("
        "`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`));"
    )
    tab = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: console_errors.append(f"pageerror: {error}"))
    yield tab
    # Every browser test also checks that the CSP never blocked anything on its pages.
    blocked = csp_errors(console_errors)
    assert not blocked, f"the Content Security Policy blocked something: {blocked}"


@pytest.fixture
def shot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """Save a full-page screenshot of the current state as ``<test-name>-<step>.png``."""

    def take(step: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{artifact_name(request.node.name)}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(page: Page) -> Callable:
    """Fill and submit the login form (the page must show it)."""

    def submit(username: str, password: str = PASSWORD) -> None:
        if not re.search(r"/login", page.url):
            page.goto("/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()

    return submit


def csp_errors(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m]


def unused_id_number(birth, rng) -> str:
    """A valid ID number for ``birth`` that no member of the shared e2e database holds yet.

    The live database lives for the whole session, so fixtures that pin a birth date (an
    elder's 80th birthday, say) must not rely on a random sequence number alone."""
    from app.members.services import find_by_id_number
    from tests.members.conftest import id_number

    for _ in range(500):
        candidate = id_number(birth, rng.randrange(0, 500))
        if find_by_id_number(candidate) is None:
            return candidate
    raise AssertionError(f"no free ID number left for {birth}")


def htmx_settled(page: Page) -> None:
    """Wait until htmx has finished swapping and processing new content (after a boosted
    navigation the new elements get their handlers only when the swap has settled)."""
    page.wait_for_function(
        "() => window.htmx && !document.querySelector("
        "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def nav_link(page: Page, name: str):
    """A link of the main navigation; on a phone the navigation is a 菜单 list, opened first."""
    page.wait_for_load_state()
    narrow = (page.viewport_size or {"width": 1366})["width"] <= 900  # the CSS breakpoint
    if narrow and page.locator(".navmenu[open]").count() == 0:
        page.locator(".navmenu summary").click()
    return page.get_by_role("navigation", name="主导航").get_by_role("link", name=name)
