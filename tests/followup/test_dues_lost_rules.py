"""Pure rules of dues, lost-contact cases and appraisal (table-driven)."""

from __future__ import annotations

from datetime import date

import pytest

from app.followup import appraisal, dues, lost_contact
from app.settings import DEFAULTS

BRACKETS = DEFAULTS["dues_brackets"]


def yuan(text: str) -> int:
    return dues.yuan_to_fen(text)


# ---- dues -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("employment", "income", "expected"),
    [
        # in service: ≤3000 0.5%, 3000–5000 1%, 5000–10000 1.5%, >10000 2%; boundaries lower band
        ("in_service", "1000", "5.00"),
        ("in_service", "3000", "15.00"),
        ("in_service", "3000.01", "30.00"),  # 30.0001 → 30.00
        ("in_service", "4567.89", "45.68"),  # 45.6789 → 45.68
        ("in_service", "5000", "50.00"),
        ("in_service", "5000.01", "75.00"),  # 75.00015 → 75.00
        ("in_service", "6666.70", "100.00"),  # 10000.05 fen → 100.00
        ("in_service", "10000", "150.00"),
        ("in_service", "10000.01", "200.00"),
        ("in_service", "12345.67", "246.91"),  # 246.9134
        # half-up: 0.5% of 1.01 yuan = 0.00505 → 0.01; of 0.99 = 0.00495 → 0.00
        ("in_service", "1.01", "0.01"),
        ("in_service", "0.99", "0.00"),
        ("in_service", "3", "0.02"),  # 0.015 → 0.02 (half-up, not banker's 0.02 by luck)
        ("in_service", "5", "0.03"),  # 0.025 → 0.03 (banker's rounding would give 0.02)
        # retirees: ≤5000 0.5%, >5000 1%
        ("retired", "5000", "25.00"),
        ("retired", "5000.01", "50.00"),
        ("retired", "3500", "17.50"),
        ("retired", "12000", "120.00"),
        # flat 0.2 yuan whatever the income
        ("laid_off", "8000", "0.20"),
        ("waiting_post", None, "0.20"),
        ("unemployed_graduate", None, "0.20"),
        ("contract_terminated", "2000", "0.20"),
        # residents: income → in-service brackets, none → flat
        ("resident", "4000", "40.00"),
        ("resident", None, "0.20"),
    ],
)
def test_proposed_amount(employment, income, expected):
    income_fen = yuan(income) if income is not None else None
    proposal = dues.propose(employment, income_fen, BRACKETS)
    assert proposal.fen == yuan(expected)
    assert proposal.yuan == expected
    assert isinstance(proposal.fen, int)


@pytest.mark.parametrize("employment", ["in_service", "retired"])
def test_no_proposal_without_income_for_salaried(employment):
    proposal = dues.propose(employment, None, BRACKETS)
    assert proposal.fen is None
    assert "月收入" in proposal.basis


def test_relief_is_flat_and_brackets_come_from_settings():
    assert dues.propose("in_service", yuan("20000"), BRACKETS, on_relief=True).fen == 20
    custom = {"in_service": [[100000, 10], [None, 30]], "retired": [[None, 7]], "flat_fen": 50}
    assert dues.propose("in_service", yuan("1000"), custom).fen == 1000
    assert dues.propose("in_service", yuan("1000.01"), custom).fen == 3000
    assert dues.propose("retired", yuan("100"), custom).fen == 70
    assert dues.propose("laid_off", None, custom).fen == 50


def test_basis_names_the_rate():
    assert "1.5%" in dues.propose("in_service", yuan("6000"), BRACKETS).basis
    assert "1%" in dues.propose("retired", yuan("6000"), BRACKETS).basis


@pytest.mark.parametrize(
    ("text", "fen"),
    [("12", 1200), ("12.3", 1230), ("12.34", 1234), ("０.２", 20), ("¥1,000", 100000), (".5", 50)],
)
def test_yuan_to_fen(text, fen):
    assert dues.yuan_to_fen(text) == fen


@pytest.mark.parametrize("text", ["", "abc", "1.234", "-1", "1e3", "1.2.3", "9999999999"])
def test_yuan_to_fen_refuses(text):
    with pytest.raises(ValueError):
        dues.yuan_to_fen(text)


@pytest.mark.parametrize(
    ("fen", "text"), [(0, "0.00"), (5, "0.05"), (12345, "123.45"), (-20, "-0.20")]
)
def test_fen_to_yuan(fen, text):
    assert dues.fen_to_yuan(fen) == text


@pytest.mark.parametrize(
    ("paid_until", "today", "behind"),
    [
        (None, date(2026, 11, 22), None),
        (date(2026, 11, 1), date(2026, 11, 22), 0),
        (date(2026, 12, 1), date(2026, 11, 22), 0),  # paid ahead
        (date(2026, 10, 1), date(2026, 11, 22), 0),  # November may still be paid
        (date(2026, 9, 1), date(2026, 11, 22), 1),
        (date(2026, 4, 1), date(2026, 11, 22), 6),
        (date(2025, 12, 1), date(2026, 1, 5), 0),
        (date(2025, 6, 1), date(2026, 1, 5), 6),
    ],
)
def test_months_behind(paid_until, today, behind):
    assert dues.months_behind(paid_until, today) == behind
    if behind is not None:
        # The SQL cutoff agrees with the count.
        assert (paid_until < dues.behind_cutoff(today, 6)) == (behind >= 6)


@pytest.mark.parametrize(
    ("paid_until", "months", "today", "start", "end"),
    [
        (date(2026, 10, 1), 2, date(2026, 11, 22), date(2026, 11, 1), date(2026, 12, 1)),
        (date(2026, 11, 1), 3, date(2026, 11, 22), date(2026, 12, 1), date(2027, 2, 1)),
        (None, 1, date(2026, 11, 22), date(2026, 11, 1), date(2026, 11, 1)),
        (date(2026, 1, 1), 12, date(2026, 11, 22), date(2026, 2, 1), date(2027, 1, 1)),
    ],
)
def test_payment_months(paid_until, months, today, start, end):
    assert dues.payment_months(paid_until, months, today) == (start, end)


def test_bracket_rows_describe_the_lower_band_rule():
    rows = dues.bracket_rows(BRACKETS)
    assert ("在职党员", "3000 元及以下", "0.5%") in rows
    assert ("在职党员", "3000–5000 元（含）", "1%") in rows
    assert ("在职党员", "10000 元以上", "2%") in rows
    assert ("离退休党员", "5000 元以上", "1%") in rows
    assert rows[-1][2] == "每月 0.20 元"


# ---- lost contact -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "today", "over1", "over2"),
    [
        (date(2025, 11, 22), date(2026, 11, 22), False, False),  # exactly one year
        (date(2025, 11, 21), date(2026, 11, 22), True, False),
        (date(2024, 11, 22), date(2026, 11, 22), True, False),  # exactly two years
        (date(2024, 11, 21), date(2026, 11, 22), True, True),
        (date(2024, 2, 29), date(2025, 3, 1), True, False),
        (date(2026, 6, 1), date(2026, 11, 22), False, False),
    ],
)
def test_hidden_over(since, today, over1, over2):
    assert lost_contact.hidden_over(since, today, 1) is over1
    assert lost_contact.hidden_over(since, today, 2) is over2
    c1, c2 = lost_contact.hidden_cutoffs(today)
    assert (since < c1) is over1 and (since < c2) is over2


@pytest.mark.parametrize(
    ("org_life", "paid_until", "expected"),
    [
        (None, None, True),
        (date(2026, 5, 21), date(2026, 4, 1), True),  # 6 months + 1 day, 6 months owed
        (date(2026, 5, 22), date(2026, 4, 1), False),  # org life exactly 6 months ago
        (date(2026, 5, 21), date(2026, 5, 1), False),  # only 5 months owed
        (None, date(2026, 10, 1), False),
        (date(2026, 10, 1), None, False),
    ],
)
def test_candidate(org_life, paid_until, expected):
    assert lost_contact.is_candidate(org_life, paid_until, date(2026, 11, 22), 6) is expected


def test_candidate_cutoff_clamps_to_month_end():
    org_before, _ = lost_contact.proposal_cutoff(date(2026, 8, 31), 6)
    assert org_before == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("stage", "to", "ok"),
    [
        ("survey", "verify", True),
        ("verify", "survey", True),
        ("survey", "survey", False),
        ("survey", "closed", False),  # closing needs an outcome
        ("closed", "survey", False),
        ("verify", "bogus", False),
    ],
)
def test_stage_moves(stage, to, ok):
    assert lost_contact.can_move(stage, to) is ok


def test_flags_track_suspension_and_restore_deadline():
    today = date(2026, 11, 22)
    flags = lost_contact.flags(
        since=date(2025, 1, 1),
        stage="verify",
        outcome=None,
        suspended_on=date(2026, 3, 1),
        today=today,
    )
    assert [f.text for f in flags] == ["已停止党籍，恢复期限至 2028-03-01"]
    late = lost_contact.flags(
        since=date(2023, 1, 1),
        stage="closed",
        outcome="suspended",
        suspended_on=date(2024, 11, 21),
        today=today,
    )
    assert late[0].level == "alert" and "可研究按自行脱党除名" in late[0].text
    restored = lost_contact.flags(
        since=date(2023, 1, 1),
        stage="closed",
        outcome="membership_restored",
        suspended_on=date(2024, 1, 1),
        today=today,
    )
    assert restored == []


def test_flags_of_open_cases():
    today = date(2026, 11, 22)

    def texts(since):
        return [
            f.text
            for f in lost_contact.flags(
                since=since, stage="survey", outcome=None, suspended_on=None, today=today
            )
        ]

    assert texts(date(2026, 10, 1)) == []
    assert texts(date(2026, 5, 22)) == ["失联已满 6 个月，可研究是否停止党籍"]
    assert texts(date(2025, 6, 1))[0] == "失联超过 1 年"
    assert texts(date(2024, 6, 1))[0] == "失联超过 2 年"


@pytest.mark.parametrize(
    ("part", "total", "text"), [(61, 100, "61%"), (1, 3, "33%"), (2, 3, "67%"), (0, 0, "—")]
)
def test_share(part, total, text):
    assert lost_contact.share(part, total) == text


# ---- appraisal --------------------------------------------------------------------------------


def test_grades_are_the_four_of_the_spec():
    assert list(appraisal.GRADE_LABELS.values()) == ["优秀", "合格", "基本合格", "不合格"]
    assert tuple(appraisal.GRADE_LABELS) == appraisal.GRADE_ORDER


@pytest.mark.parametrize(
    ("raw", "year"),
    [("2025", 2025), (" 2026 ", 2026), ("2027", None), ("1999", None), ("abc", None), (None, None)],
)
def test_parse_year(raw, year):
    assert appraisal.parse_year(raw, date(2026, 11, 22)) == year


@pytest.mark.parametrize(
    ("raw", "grade"),
    [("excellent", "excellent"), ("", ""), (None, ""), ("优秀", None), ("x", None)],
)
def test_parse_grade(raw, grade):
    assert appraisal.parse_grade(raw) == grade


def test_default_year_and_counts():
    assert appraisal.default_year(date(2027, 2, 1)) == 2026
    assert appraisal.default_year(date(2026, 11, 22)) == 2026
    c = appraisal.counts(["excellent", "qualified", "qualified", None, "bogus"], total=6)
    assert c == {
        "excellent": 1,
        "qualified": 2,
        "basically_qualified": 0,
        "unqualified": 0,
        "graded": 3,
        "ungraded": 3,
    }


def test_changes_only_what_differs():
    current = {1: "qualified", 2: "excellent"}
    submitted = {1: "qualified", 2: "", 3: "unqualified", 4: ""}
    assert appraisal.changes(current, submitted) == {2: ("excellent", ""), 3: ("", "unqualified")}
