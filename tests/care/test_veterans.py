"""老党员: 光荣在党50年 per year, all with 党龄 ≥ N, printable."""

from __future__ import annotations

from datetime import date, datetime

from app.timeutil import freeze


def test_honour_list_per_year_and_pdf(app, client, auth, tree, make_member, staff_a):
    with freeze(datetime(2026, 5, 18, 2, 0)):
        make_member(
            name="老党员甲",
            joined_on=date(1976, 3, 1),
            birth=date(1950, 1, 1),
            building=tree["building_a"],
        )
        make_member(
            name="老党员乙",
            joined_on=date(1970, 3, 1),
            birth=date(1945, 1, 1),
            building=tree["building_a"],
        )
        make_member(
            name="年轻党员",
            joined_on=date(2000, 3, 1),
            birth=date(1975, 1, 1),
            building=tree["building_a"],
        )
        auth.login(staff_a.username)
        year = client.get("/care/veterans?year=2026&years=50").get_data(as_text=True)
        assert "老党员甲" in year and "老党员乙" not in year and "年轻党员" not in year
        every = client.get("/care/veterans?year=2026&years=50&only=0").get_data(as_text=True)
        assert "老党员甲" in every and "老党员乙" in every and "年轻党员" not in every
        assert "56 年" in every
        pdf = client.get("/care/veterans.pdf?year=2026&years=50")
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
