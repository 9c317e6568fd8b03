"""五管工作 hub: one section per category, counts in the user's scope, links registered by features."""

from __future__ import annotations

from app import work
from app.extensions import db
from app.organization.models import Place


def test_hub_counts_only_the_scope_and_lists_registered_links(
    app,
    client,
    auth,
    tree,
    make_member,
    staff_of,
    monkeypatch,
):
    a = make_member(name="直管甲", community_id=tree["community"].id)
    make_member(name="直管乙", community_id=tree["community"].id)
    other = Place(kind="community", name="别的社区", code="C9")
    db.session.add(other)
    db.session.flush()
    make_member(name="直管丙", community_id=other.id)
    db.session.commit()
    staff = staff_of(org=tree["committee"])
    assert a.category == "direct"  # a resident whose relation is here
    # Only the test's link registered: the other categories say their work is not open yet.
    monkeypatch.setattr(work, "LINKS", {})
    work.register("direct", "测试入口", "members.index")
    auth.login(staff.username)
    html = client.get("/work/").get_data(as_text=True)
    assert "五管工作" in html
    section = html.split('id="work-direct"')[1].split("</section>")[0]
    assert "2 人" in section
    assert "测试入口" in section
    assert "本类工作尚未开通" in html.split('id="work-takeover"')[1].split("</section>")[0]


def test_hub_is_for_staff_only(app, client, auth):
    auth.login_as("member")
    assert client.get("/work/").status_code in (302, 403)
