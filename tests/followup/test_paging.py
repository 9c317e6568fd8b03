"""Every follow-up list pages with the one paging helper: its 加载更多 link opened directly
(no JavaScript, a new tab) is the whole page, and with HX-Request the rows of the next page."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from app.extensions import db
from app.followup.models import LostContactCase, OrgEvent

SIZE = 2
ROWS = 5  # three pages of two
LINK_RE = re.compile(r'<a\b[^\n]*?\bhref="([^"]*after=\d+[^"]*)"[^\n]*?>\s*加载更多\s*</a>')
HX = {"HX-Request": "true"}

LISTS = [
    ("/followup/thought-reports", "名单党员"),
    ("/followup/contacts", "名单党员"),
    ("/followup/alerts", "名单党员"),
    ("/followup/events", "党课"),
    ("/followup/dues", "名单党员"),
    ("/followup/dues?tab=unconfirmed", "名单党员"),
    ("/followup/dues?tab=behind&months=12", "名单党员"),
    ("/followup/lost", "名单党员"),
    ("/followup/lost?stage=all", "名单党员"),
    ("/followup/lost/proposals", "名单党员"),
]


@pytest.fixture
def small_pages(monkeypatch):
    from app import paging
    from app.followup import routes

    monkeypatch.setattr(paging, "PAGE_SIZE", SIZE)
    monkeypatch.setattr(routes, "EVENT_PAGE", SIZE)


@pytest.fixture
def crowd(auth, staff_of, tree, make_member):
    """More rows than a page on every follow-up list of the first community."""
    assert auth.login(staff_of(org=tree["committee"]).username).status_code == 302
    for n in range(3 * ROWS):
        member = make_member(
            name=f"名单党员{n}",
            building=tree["building_a"],
            employment="in_service",
            monthly_income_fen=600000,
            commit=False,
        )
        member.created_at = datetime(2020, 1, 1)  # overdue for reports
        member.dues_paid_until = date(2020, 1, 1)  # behind, an alert
        member.dues_fen = 100  # not the proposed amount
        if n % 3 == 0:  # away on a trip since 2020: a contact is overdue (dues still due here)
            member.mobility = "flow_out"
            member.mobility_place = "上海"
            member.mobility_since = date(2020, 1, 1)
        elif n % 3 == 1:  # followed by a lost-contact case
            db.session.flush()
            db.session.add(
                LostContactCase(
                    member_id=member.id,
                    kind="roster",
                    since=date(2024, 1, n + 1),
                    opened_on=date(2025, 1, 1),
                )
            )
        # n % 3 == 2: here, no org life and no dues: proposed for a case
        db.session.add(
            OrgEvent(
                org_id=tree["branch_a"].id,
                kind="party_class",
                held_on=date(2025, 1, n + 1),
                title=f"党课{n}",
            )
        )
    db.session.commit()


def _next(html: str) -> str | None:
    links = LINK_RE.findall(html)
    assert len(links) <= 1
    return links[0].replace("&amp;", "&") if links else None


@pytest.mark.parametrize(("url", "marker"), LISTS)
def test_load_more_opens_as_a_page_and_as_rows(client, crowd, small_pages, url, marker):
    first = client.get(url)
    assert first.status_code == 200
    seen = first.get_data(as_text=True).count(marker)
    link = _next(first.get_data(as_text=True))
    assert link, f"{url}: no 加载更多 link"
    pages = 1
    while link:
        # Opened directly: the whole page, with its filters and counts, status 200.
        page = client.get(link)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "<html" in html, link
        assert 'class="page-rows"' in html and marker in html
        # Followed by htmx: the rows (the results block), no page around them.
        rows = client.get(link, headers=HX)
        fragment = rows.get_data(as_text=True)
        assert rows.status_code == 200 and "<html" not in fragment, link
        assert marker in fragment
        assert _next(fragment) == _next(html)
        link = _next(html)
        pages += 1
    assert pages >= 3, f"{url}: {pages} pages of {SIZE}"
    assert seen


@pytest.mark.parametrize("url", ["/followup/dues", "/followup/lost", "/followup/events"])
def test_a_cursor_that_is_not_a_usable_id_is_the_first_page(client, crowd, small_pages, url):
    sep = "&" if "?" in url else "?"
    for after in ("99999999999999999999999", "-1", "abc", "0"):
        response = client.get(f"{url}{sep}after={after}")
        assert response.status_code == 200 and "<html" in response.get_data(as_text=True)
