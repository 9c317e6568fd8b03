"""Roster import and export in the browser: preview, confirm, rejected rows, scope, masking."""

from __future__ import annotations

import io

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.members.models import Member
from app.organization.models import Place

from .test_roster import csv_bytes, row

HX = {"HX-Request": "true"}


@pytest.fixture
def staff(app, auth, tree, staff_of, tmp_path):
    app.config["ROSTER_IMPORT_DIR"] = str(tmp_path)
    user = staff_of(place=tree["community"])
    auth.login(user.username)
    return user


def upload(client, token, data: bytes, name: str = "名册.csv", mimetype: str = "text/csv"):
    return client.post(
        "/members/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), name, mimetype)},
        content_type="multipart/form-data",
        headers=HX,
    )


def token_of(body: str) -> str:
    return body.split("/members/import/")[1].split('"')[0].split("/")[0]


def sheet(data: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()


def count() -> int:
    return db.session.execute(select(func.count()).select_from(Member)).scalar_one()


def test_upload_preview_confirm_and_reimport(client, auth, staff):
    page = client.get("/members/import")
    assert page.status_code == 200 and "表头与填写说明" in page.get_data(as_text=True)
    data = csv_bytes([row(1), row(2), row(3, 手机号="123"), row(4, 楼栋="99号楼")], "gbk")
    response = upload(client, auth.token(), data)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "确认导入（有误的 2 行不导入）" in body
    assert "手机号应为 11 位" in body and "99号楼" in body
    assert row(1)["身份证号"] not in body  # ID numbers masked in the preview
    assert count() == 0
    token = token_of(body)

    rejected = client.get(f"/members/import/{token}/rejected.xlsx")
    assert rejected.status_code == 200 and rejected.headers["Cache-Control"] == "no-store"
    table = sheet(rejected.data)
    assert len(table) == 3 and table[0][-2:] == ["原因", "原行号"]
    assert {r[-1] for r in table[1:]} == {"4", "5"}

    done = client.post(f"/members/import/{token}", data={"csrf_token": auth.token()}, headers=HX)
    assert done.status_code == 200 and done.headers["HX-Redirect"] == "/members/"
    assert count() == 2
    again = client.post(f"/members/import/{token}", data={"csrf_token": auth.token()})
    assert again.status_code == 303 and count() == 2  # a second confirm does nothing
    actions = db.session.execute(
        select(AuditEntry.action, AuditEntry.after).where(AuditEntry.object_type == "roster")
    ).all()
    assert [a for a, _ in actions] == ["member_export", "member_import"]
    assert actions[1][1]["create"] == 2 and actions[1][1]["rejected"] == 2

    # The same file again: nothing to write.
    body = upload(client, auth.token(), data).get_data(as_text=True)
    assert "没有需要写入的变化" in body


@pytest.mark.parametrize(
    ("data", "name", "mimetype", "message"),
    [
        (b"", "r.csv", "text/csv", "请选择要导入的文件"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "r.csv", "text/csv", "不是 CSV"),
        (b"PK\x03\x04garbage", "r.xlsx", "application/zip", "已损坏"),
        ("姓名,身份证号\n".encode(), "r.csv", "text/csv", "只有表头"),
        (b"a,b\n1,2\n", "r.csv", "image/png", "只支持"),
        (b"a", "r.xls", "application/vnd.ms-excel", "旧版 .xls"),
    ],
)
def test_bad_files_are_422_with_a_message(client, auth, staff, data, name, mimetype, message):
    if not data:
        response = client.post(
            "/members/import",
            data={"csrf_token": auth.token()},
            content_type="multipart/form-data",
            headers=HX,
        )
    else:
        response = upload(client, auth.token(), data, name, mimetype)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_too_large_upload_is_refused(client, auth, staff, monkeypatch):
    from app.members import importer

    monkeypatch.setattr(importer, "MAX_BYTES", 100 * 1024)
    response = upload(client, auth.token(), b"a,b\n" * (40 * 1024))
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "文件超过" in body


def test_token_belongs_to_its_uploader(app, client, auth, staff, make_user):
    body = upload(client, auth.token(), csv_bytes([row(1)])).get_data(as_text=True)
    token = token_of(body)
    auth.logout()
    other = make_user("admin")
    auth.login(other.username)
    assert client.get(f"/members/import/{token}/rejected.xlsx").status_code == 404
    assert (
        client.post(f"/members/import/{token}", data={"csrf_token": auth.token()}).status_code
        == 404
    )


def test_rows_outside_scope_are_rejected_in_the_browser(client, auth, staff):
    db.session.add(Place(kind="community", name="和平社区"))
    db.session.commit()
    data = csv_bytes(
        [row(1), row(2, 社区="和平社区", 网格="", 楼栋="", 所在支部="", 所在党小组="")]
    )
    body = upload(client, auth.token(), data).get_data(as_text=True)
    assert "管辖范围" in body and "确认导入（有误的 1 行不导入）" in body


def test_export_keeps_filters_scope_and_masks(client, auth, staff, tree, make_member, make_user):
    other = Place(kind="community", name="和平社区")
    db.session.add(other)
    db.session.commit()
    mine = make_member(name="本社区甲", building=tree["building_a"], employment="retired")
    make_member(name="本社区乙", building=tree["building_b"])
    make_member(name="外社区丙", community_id=other.id, employment="retired")
    response = client.get("/members/export.xlsx?category=shared")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    table = sheet(response.data)
    assert table[0][-2:] == ["五管分类", "状态"]
    assert [r[0] for r in table[1:]] == ["本社区甲"]
    assert table[1][3] == f"{mine.id_prefix6}********{mine.id_last4}"
    assert table[1][4] == f"{mine.phone[:3]}****{mine.phone[-4:]}"
    entry = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "member_export")
    ).scalar_one()
    assert entry.after["rows"] == 1 and entry.after["filters"] == {"category": "shared"}
    assert entry.after["full_values"] is False

    auth.logout()
    admin = make_user("admin")
    auth.login(admin.username)
    table = sheet(client.get("/members/export.xlsx").data)
    assert len(table) == 4
    full = {r[0]: r[3] for r in table[1:]}
    from app.crypto import decrypt

    assert full["本社区甲"] == decrypt(mine.id_number_enc)


def test_import_export_need_staff(client, auth):
    auth.login_as("member")
    assert client.get("/members/import").status_code in (403, 404)
    assert client.get("/members/export.xlsx").status_code in (403, 404)


def test_counts_page_is_scoped_and_shows_a_past_month(client, auth, staff, tree, make_member):
    from datetime import timedelta

    from app.members import services
    from app.timeutil import local_today

    other = Place(kind="community", name="和平社区")
    db.session.add(other)
    db.session.commit()
    long_ago = local_today().replace(day=1) - timedelta(days=400)
    member = make_member(building=tree["building_a"], effective=long_ago)
    make_member(building=tree["building_b"], employment="retired")
    make_member(community_id=other.id, employment="retired")
    services.update_member(member, {"employment": "retired"}, None, None)
    db.session.commit()
    body = client.get("/members/counts").get_data(as_text=True)
    assert 'data-figure="on_roster">2<' in body
    assert '/members/?status=managed&amp;category=shared">' in body
    month = f"{long_ago:%Y-%m}"
    part = client.get(f"/members/counts?as_of={month}", headers=HX)
    html = part.get_data(as_text=True)
    assert part.status_code == 200 and "<html" not in html
    assert f"截至 {month} 月末" in html and 'data-figure="on_roster">1<' in html
    assert f"as_of={month}" in html
