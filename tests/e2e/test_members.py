"""Member registry in a real browser: import a roster with two bad rows, download them, fix and
re-import; then search a member, override the category with a reason and see it in the
timeline — on a phone and on a desktop."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta

from playwright.sync_api import Page, expect
from python_calamine import CalamineWorkbook

from app.extensions import db
from app.members.identity import check_char
from app.organization.models import Org, Place, UserScope


def id_number(birth: date, order: int) -> str:
    first17 = f"620302{birth:%Y%m%d}{order:03d}"
    return first17 + check_char(first17)


def world(live_app, make_user, tag: str) -> str:
    """A community with one grid, one building, a branch and a group; a staff user for it."""
    username = make_user("staff")
    with live_app.app_context():
        from app.auth.models import User

        community = Place(kind="community", name=f"金川{tag}社区")
        db.session.add(community)
        db.session.flush()
        grid = Place(kind="grid", name="第一网格", parent_id=community.id)
        street = Org(kind="street_committee", name=f"街道{tag}党工委")
        db.session.add_all([grid, street])
        db.session.flush()
        committee = Org(
            kind="community_committee",
            name=f"金川{tag}社区党委",
            parent_id=street.id,
            place_id=community.id,
        )
        db.session.add(committee)
        db.session.flush()
        branch = Org(kind="branch", name="第一支部", parent_id=committee.id)
        db.session.add(branch)
        db.session.flush()
        group = Org(kind="group", name="1号楼党小组", parent_id=branch.id)
        db.session.add(group)
        db.session.flush()
        db.session.add(Place(kind="building", name="1号楼", parent_id=grid.id, group_id=group.id))
        user = db.session.query(User).filter_by(username=username).one()
        db.session.add(UserScope(user_id=user.id, place_id=community.id))
        db.session.commit()
        db.session.remove()
    return username


HEADER = (
    "姓名,性别,身份证号,手机号,入党日期,就业状态,组织关系所在,社区,网格,楼栋,所在支部,所在党小组"
)


def roster(tag: str, seed: int) -> tuple[str, list[str]]:
    base = date(1950, 1, 1) + timedelta(days=seed % 5000)
    people = []
    lines = [HEADER]
    for i, (employment, relation) in enumerate(
        [("离退休", "本社区"), ("在职", "工作单位"), ("下岗", "原单位"), ("其他/居民", "本社区")]
    ):
        birth = base + timedelta(days=i * 400)
        name = f"{['赵', '钱', '孙', '李'][i]}{tag}"
        people.append(name)
        phone = f"139{seed % 10000:04d}{i:04d}"
        building = "1号楼"
        if i == 1:
            phone = "1390000"  # bad: too short
        if i == 2:
            building = "99号楼"  # bad: no such building
        lines.append(
            f"{name},男,{id_number(birth, i * 2 + 1)},{phone},{birth.year + 25}年7月1日,"
            f"{employment},{relation},金川{tag}社区,第一网格,{building},第一支部,1号楼党小组"
        )
    return "\n".join(lines) + "\n", people


def upload(page: Page, path) -> None:  # noqa: ANN001
    page.goto("/members/import")
    page.get_by_label("名册文件（.xlsx 或 .csv）").set_input_files(str(path))
    page.get_by_role("button", name="上传并预览").click()
    expect(page.locator("#preview-panel")).to_be_visible()


def test_import_fix_reimport_then_override_category(
    page: Page, live_app, make_user, login, shot, tmp_path
):
    tag = uuid.uuid4().hex[:4]
    login(world(live_app, make_user, tag))
    page.wait_for_url(lambda url: "/login" not in url)

    text, people = roster(tag, int(tag, 16))
    source = tmp_path / "名册.csv"
    source.write_bytes(text.encode("gbk"))

    # 1. Upload: two rows will be created, two are rejected with the reason per cell.
    page.goto("/members/import")
    expect(page.get_by_text("表头与填写说明")).to_be_visible()
    shot("upload")
    upload(page, source)
    preview = page.locator("#preview-panel")
    expect(preview.locator(".stat").filter(has_text="新建")).to_contain_text("2")
    expect(preview.locator(".stat").filter(has_text="有误")).to_contain_text("2")
    expect(preview).to_contain_text("手机号应为 11 位")
    expect(preview).to_contain_text("99号楼")
    shot("preview")

    # 2. Download the rejected rows (an importable file with the reasons).
    with page.expect_download() as info:
        preview.get_by_role("link", name="下载有误的行").click()
    rejected = tmp_path / "rejected.xlsx"
    info.value.save_as(rejected)
    table = CalamineWorkbook.from_filelike(io.BytesIO(rejected.read_bytes()))
    cells = table.get_sheet_by_index(0).to_python()
    assert cells[0][-2:] == ["原因", "原行号"] and len(cells) == 3
    assert "手机号" in cells[1][-2] or "手机号" in cells[2][-2]

    # 3. Confirm: the good rows are written, the list says so.
    preview.get_by_role("button", name="确认导入（有误的 2 行不导入）").click()
    expect(page.locator("#flash")).to_contain_text("新建 2 人")

    # 4. Fix the two rows in the downloaded file and import it: both are created.
    header = cells[0]
    fixed = [
        "姓名,性别,身份证号,手机号,入党日期,就业状态,组织关系所在,社区,网格,楼栋,所在支部,所在党小组"
    ]
    for line in cells[1:]:
        values = dict(zip(header, line, strict=True))
        values["手机号"] = "13912345678" if len(values["手机号"]) < 11 else values["手机号"]
        values["楼栋"] = "1号楼"
        fixed.append(",".join(str(values[h]) for h in fixed[0].split(",")))
    again = tmp_path / "fixed.csv"
    again.write_text("\n".join(fixed) + "\n", "utf-8-sig")
    upload(page, again)
    preview = page.locator("#preview-panel")
    expect(preview.locator(".stat").filter(has_text="新建")).to_contain_text("2")
    expect(preview.locator(".stat").filter(has_text="有误")).to_contain_text("0")
    preview.get_by_role("button", name="确认导入").click()
    expect(page.locator("#flash")).to_contain_text("新建 2 人")

    # 5. Re-importing the first file changes nothing for the rows already there.
    upload(page, source)
    stats = page.locator("#preview-panel .stat")
    expect(stats.filter(has_text="新建")).to_contain_text("0")
    expect(stats.filter(has_text="无变化")).to_contain_text("2")

    # 6. Search a member by name, open the card, override the category with a reason.
    page.goto("/members/")
    page.get_by_role("searchbox").fill(people[3])
    # Leave the field first: its "change" also re-runs the filter form's search (see report).
    page.get_by_role("searchbox").press("Tab")
    results = page.locator("#member-results")
    expect(results.get_by_role("link", name=people[3])).to_be_visible()
    expect(results.locator("tbody tr")).to_have_count(1)
    shot("search")
    page.wait_for_load_state("networkidle")  # the active search may still be swapping results
    results.get_by_role("link", name=people[3]).click()
    expect(page).to_have_url(re.compile(r"/members/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(people[3])
    card = page.locator("#category-card")
    expect(card).to_contain_text("直管")
    card.get_by_label("五管分类").select_option(label="接管")
    card.get_by_label("调整理由").fill("长期失业，按接管对象管理")
    card.get_by_role("button", name="调整分类").click()
    expect(page.locator("#category-card")).to_contain_text("长期失业，按接管对象管理")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("人工调整")
    expect(timeline).to_contain_text("原因：长期失业，按接管对象管理")
    shot("timeline")

    # 7. The counts by category: the override shows, and each figure opens its list.
    page.goto("/members/counts")
    takeover = page.locator("#member-counts .stat-takeover")
    expect(takeover).to_contain_text("2")  # the laid-off member and the override
    shot("counts")
    takeover.click()
    expect(page.locator("#member-results tbody tr")).to_have_count(2)
