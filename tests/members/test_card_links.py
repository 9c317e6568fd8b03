"""The registration card links to the member's 跟踪记录 and offers tap-to-call only where the
full phone number is shown (issue 12, item 16)."""

from __future__ import annotations

import re

import pytest

HX = {"HX-Request": "true"}


def tel_links(html: str) -> list[str]:
    return re.findall(r'href="tel:([^"]*)"', html)


@pytest.mark.parametrize("role", ["admin", "staff", "grid_worker"])
def test_card_links_to_the_followup_record(
    client, auth, tree, make_member, grid_worker_of, staff_of, role
):
    member = make_member(building=tree["building_a"], phone="13812345678")
    if role == "grid_worker":
        auth.login(grid_worker_of(tree["grid_a"]).username)
    elif role == "staff":
        auth.login(staff_of(org=tree["committee"], may_reveal=True).username)
    else:
        auth.login_as("admin")
    html = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert f'href="/followup/members/{member.id}"' in html and "跟踪记录" in html
    # the card shows the phone masked: no number in a tel: link, nor anywhere else
    assert tel_links(html) == []
    assert "13812345678" not in html and "138****5678" in html
    # and the follow-up page it links to opens for the same user
    assert client.get(f"/followup/members/{member.id}").status_code == 200


@pytest.mark.parametrize("headers", [HX, {}])
def test_revealed_phone_is_a_tel_link(client, auth, tree, make_member, headers):
    member = make_member(building=tree["building_a"], phone="13812345678")
    auth.login_as("admin")
    html = client.post(
        f"/members/{member.id}/reveal", data={"csrf_token": auth.token()}, headers=headers
    ).get_data(as_text=True)
    assert tel_links(html) == ["13812345678"]


def test_no_tel_link_for_roles_that_may_not_reveal(client, auth, tree, make_member, grid_worker_of):
    member = make_member(building=tree["building_a"], phone="13812345678")
    auth.login(grid_worker_of(tree["grid_a"]).username)
    response = client.post(
        f"/members/{member.id}/reveal", data={"csrf_token": auth.token()}, headers=HX
    )
    assert response.status_code == 403
    assert tel_links(response.get_data(as_text=True)) == []
