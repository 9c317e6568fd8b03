"""The member list over a scope made of several alternatives (community OR joint branch): the
merged per-alternative page gives the same rows, in pinyin order, page after page."""

from __future__ import annotations

import re

from sqlalchemy import select

from app import paging
from app.extensions import db
from app.members import queries
from app.members.models import Member
from app.organization.models import Org, Place


def test_scope_branches_split_or_and_in_lists():
    clause = Member.community_id.in_([1, 2]) | Member.branch_id.in_([7])
    branches = queries._scope_branches(clause)
    assert [str(b.compile(compile_kwargs={"literal_binds": True})) for b in branches] == [
        "member.community_id = 1",
        "member.community_id = 2",
        "member.branch_id = 7",
    ]
    assert queries._scope_branches(Member.community_id.in_([1])) is None
    assert queries._scope_branches(Member.community_id.in_(list(range(40)))) is None


def test_paging_a_community_plus_joint_branch_scope(
    client, auth, tree, staff_of, make_member, monkeypatch
):
    other = Place(kind="community", name="和平社区")
    db.session.add(other)
    db.session.flush()
    joint = Org(kind="branch", name="联合党支部", parent_id=tree["committee"].id, is_joint=True)
    db.session.add(joint)
    db.session.commit()
    names = ["安", "白", "陈", "邓", "范", "高", "何", "金", "孔"]
    for i, name in enumerate(names):
        if i % 3 == 0:  # lives in another community, member of the joint branch
            make_member(name=name, community_id=other.id, branch_id=joint.id)
        else:
            make_member(name=name, building=tree["building_a"])
    make_member(name="外人", community_id=other.id)  # neither: never listed
    staff = staff_of(place=tree["community"])
    from app.organization.models import UserScope

    db.session.add(UserScope(user_id=staff.id, org_id=joint.id))
    db.session.commit()
    auth.login(staff.username)
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    seen, url = [], "/members/"
    for _ in range(10):
        body = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
        seen += re.findall(r'href="/members/(\d+)"', body)
        nxt = re.search(r'hx-get="(/members/\?after=\d+[^"]*)"', body)
        if not nxt:
            break
        url = nxt.group(1).replace("&amp;", "&")
    expected = db.session.execute(
        select(Member.id).where(Member.name != "外人").order_by(Member.name_pinyin, Member.id)
    ).scalars()
    assert [int(i) for i in dict.fromkeys(seen)] == list(expected)


def test_a_search_in_a_community_plus_joint_branch_scope_counts_each_member_once(
    client, auth, tree, staff_of, make_member, monkeypatch
):
    """The count of a search over a scope of alternatives is a union: a member both placed in
    the community and in the joint branch is counted once; outsiders never."""
    from tests.conftest import search

    other = Place(kind="community", name="和平社区")
    db.session.add(other)
    db.session.flush()
    joint = Org(kind="branch", name="联合党支部", parent_id=tree["committee"].id, is_joint=True)
    db.session.add(joint)
    db.session.commit()
    make_member(name="陈一", community_id=other.id, branch_id=joint.id)  # joint branch only
    make_member(name="陈二", building=tree["building_a"])  # the community only
    both = make_member(name="陈三", building=tree["building_a"])
    both.branch_id = joint.id  # placed here and in the joint branch
    make_member(name="陈四", community_id=other.id)  # neither
    make_member(name="王五", building=tree["building_a"])  # another surname
    staff = staff_of(place=tree["community"])
    from app.organization.models import UserScope

    db.session.add(UserScope(user_id=staff.id, org_id=joint.id))
    db.session.commit()
    auth.login(staff.username)
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)  # a second page: the count query runs
    html = search(client, "/members/", "陈", htmx=True).get_data(as_text=True)
    assert "共 <strong>3</strong> 人" in html
