"""No combination of stored plaintext rebuilds a member's ID number (issue [7/7] finding 2).

The number is stored encrypted; its first 6 digits (region) and the birth date are plaintext.
With the last 4 characters anywhere in plaintext — a member column, an audit or history row,
a registration — the whole number could be reassembled. The test reads every text cell of
every table straight from the database and looks for them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, LargeBinary, String, Text, select

from app.extensions import db
from app.members import services
from tests.conftest import search
from tests.members.conftest import id_number


def _x_number(birth: date, start: int) -> str:
    """A valid number whose check character is X (its last 4 never collide with a phone)."""
    for seq in range(start, start + 500):
        number = id_number(birth, seq)
        if number.endswith("X"):
            return number
    raise AssertionError("no X number found")


def _plaintext_cells() -> list[str]:
    cells: list[str] = []
    for table in db.metadata.sorted_tables:
        columns = [
            c
            for c in table.c
            if isinstance(c.type, String | Text | JSON)
            and not isinstance(c.type, LargeBinary)
            and not c.name.endswith("_hash")
        ]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)).all():
            cells.extend(str(v) for v in row if v is not None)
    return cells


def test_stored_plaintext_never_holds_the_last_four(app, client, auth, make_member, tree):
    first = _x_number(date(1971, 5, 4), 10)
    second = _x_number(date(1983, 9, 17), 40)
    changed = _x_number(date(1990, 2, 3), 70)
    a = make_member(id_number=first, building=tree["building_a"], phone="13800001111")
    b = make_member(id_number=second, building=tree["building_a"], phone="13800002222")
    services.update_member(b, {"id_number": changed}, auth.make_user("admin"), b.version)
    db.session.commit()
    # Staff reveal the full number (audited) and export the roster (audited).
    admin = auth.login_as("admin")
    assert admin
    token = auth.token(f"/members/{a.id}")
    assert client.post(f"/members/{a.id}/reveal", data={"csrf_token": token}).status_code == 200
    assert client.get("/members/export.xlsx").status_code in (200, 302, 404)
    db.session.commit()

    cells = _plaintext_cells()
    joined = "\n".join(cells)
    for number in (first, second, changed):
        assert number not in joined
        assert number[-4:] not in joined, f"the last 4 of {number[:6]}… are stored in plaintext"
    # The search by the last 4 still finds the member (keyed hash).
    html = search(client, "/members/", first[-4:]).get_data(as_text=True)
    assert a.name in html
    # And the masked number is still shown where it was.
    card = client.get(f"/members/{a.id}").get_data(as_text=True)
    assert first[:6] + "********" + first[-4:] in card


def test_migration_redacted_masks_do_not_survive(app):
    """The redaction pattern of migration 0009 catches the masks earlier versions wrote."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "migrations/versions/0009_id_protection.py"
    spec = importlib.util.spec_from_file_location("m0009", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    before = {
        "id_number": ["620302********123X", "620302********1234"],
        "x": "号码 620302********0012 已改",
    }
    after = module._redact(before)
    assert "123X" not in str(after) and "1234" not in str(after) and "0012" not in str(after)
    assert after["x"].startswith("号码 （已加密保存）")
