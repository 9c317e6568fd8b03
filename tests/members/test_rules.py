"""Table-driven tests of the pure member rules: 五管 classification, dates, months."""

from __future__ import annotations

from datetime import date

import pytest

from app.members.rules import (
    ClassificationFacts,
    age_on,
    classify,
    identity_errors,
    month_end,
    party_date_errors,
)

TODAY = date(2026, 11, 22)


def facts(
    employment="resident", relation="community", mobility="none", since=None, back=None, cert=False
):
    return ClassificationFacts(employment, relation, mobility, since, back, cert)


CLASSIFY_CASES = [
    # rule 1: coordinated
    ("flow-in member", facts(mobility="flow_in", since=date(2026, 1, 1)), "coordinated"),
    ("relation held elsewhere", facts(relation="elsewhere"), "coordinated"),
    ("open mobile certificate", facts(cert=True), "coordinated"),
    ("flow-out 7 months", facts(mobility="flow_out", since=date(2026, 4, 1)), "coordinated"),
    (
        "flow-out exactly 6 months",
        facts(mobility="flow_out", since=date(2026, 5, 22)),
        "coordinated",
    ),
    ("flow-out 4 months, resident", facts(mobility="flow_out", since=date(2026, 7, 1)), "direct"),
    (
        "flow-out 4 months but planned 8",
        facts(mobility="flow_out", since=date(2026, 7, 1), back=date(2027, 3, 1)),
        "coordinated",
    ),
    (
        "in-service flowed out 7 months",
        facts("in_service", "work_unit", "flow_out", date(2026, 4, 1)),
        "coordinated",
    ),
    (
        "flow-in beats retired",
        facts("retired", mobility="flow_in", since=date(2026, 1, 1)),
        "coordinated",
    ),
    # rule 2: dual
    ("in-service, relation in work unit", facts("in_service", "work_unit"), "dual"),
    (
        "in-service, unit without party org: relation here",
        facts("in_service", "community"),
        "direct",
    ),
    # rule 3: shared
    ("retired", facts("retired"), "shared"),
    ("retired, relation in original unit", facts("retired", "original_unit"), "shared"),
    (
        "retired flowed out 7 months",
        facts("retired", mobility="flow_out", since=date(2026, 4, 1)),
        "coordinated",
    ),
    (
        "retired flowed out 4 months",
        facts("retired", mobility="flow_out", since=date(2026, 7, 1)),
        "shared",
    ),
    # rule 4: takeover, each kind
    ("laid off", facts("laid_off"), "takeover"),
    ("waiting for a post", facts("waiting_post"), "takeover"),
    ("contract terminated", facts("contract_terminated"), "takeover"),
    ("unplaced veteran", facts("unplaced_veteran"), "takeover"),
    ("unemployed graduate", facts("unemployed_graduate"), "takeover"),
    (
        "laid off flowed out 4 months",
        facts("laid_off", mobility="flow_out", since=date(2026, 7, 1)),
        "takeover",
    ),
    # rule 5: direct
    ("resident", facts(), "direct"),
]


@pytest.mark.parametrize(
    ("case", "given", "expected"), CLASSIFY_CASES, ids=[c[0] for c in CLASSIFY_CASES]
)
def test_classify(case, given, expected):
    assert classify(given, TODAY) == expected


def test_classify_threshold_is_a_parameter():
    four_months = facts(mobility="flow_out", since=date(2026, 7, 1))
    assert classify(four_months, TODAY, coordinated_months=6) == "direct"
    assert classify(four_months, TODAY, coordinated_months=3) == "coordinated"


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(2000, 5, 10), date(2018, 5, 9), 17),
        (date(2000, 5, 10), date(2018, 5, 10), 18),
        (date(2000, 2, 29), date(2018, 2, 28), 17),
        (date(2000, 2, 29), date(2018, 3, 1), 18),
    ],
)
def test_age_on(birth, day, age):
    assert age_on(birth, day) == age


BIRTH = date(1980, 6, 15)
DATE_CASES = [
    ("all valid", (date(2005, 7, 1), date(2006, 7, 1), "formal"), {}),
    ("no dates", (None, None, "formal"), {}),
    ("joined the day of 18th birthday", (date(1998, 6, 15), None, "formal"), {}),
    (
        "joined one day before 18",
        (date(1998, 6, 14), None, "formal"),
        {"joined_on": "入党时应年满 18 周岁"},
    ),
    ("joined in the future", (date(2026, 12, 1), None, "formal"), {"joined_on": "晚于今天"}),
    (
        "full before joined",
        (date(2005, 7, 1), date(2005, 6, 30), "formal"),
        {"full_member_on": "不能早于入党日期"},
    ),
    ("full same day as joined", (date(2005, 7, 1), date(2005, 7, 1), "formal"), {}),
    (
        "full in the future",
        (date(2005, 7, 1), date(2027, 1, 1), "formal"),
        {"full_member_on": "晚于今天"},
    ),
    (
        "full without joined",
        (None, date(2005, 7, 1), "formal"),
        {"full_member_on": "先填写入党日期"},
    ),
    (
        "probationary with full date",
        (date(2026, 1, 1), date(2026, 6, 1), "probationary"),
        {"full_member_on": "预备党员"},
    ),
    ("probationary without full date", (date(2026, 1, 1), None, "probationary"), {}),
]


@pytest.mark.parametrize(("case", "given", "expected"), DATE_CASES, ids=[c[0] for c in DATE_CASES])
def test_party_date_errors(case, given, expected):
    errors = party_date_errors(BIRTH, given[0], given[1], given[2], TODAY)
    assert set(errors) == set(expected)
    for key, fragment in expected.items():
        assert fragment in errors[key]


def test_identity_errors():
    assert identity_errors(BIRTH, "M", BIRTH, "M") == {}
    assert identity_errors(BIRTH, "M", None, None) == {}
    errors = identity_errors(BIRTH, "M", date(1980, 6, 16), "F")
    assert "1980年6月15日" in errors["birth_date"]
    assert "性别" in errors["sex"]


@pytest.mark.parametrize(
    ("month", "end"),
    [
        ("2026-02", date(2026, 2, 28)),
        ("2024-02", date(2024, 2, 29)),
        ("2026-12", date(2026, 12, 31)),
        ("2026-04", date(2026, 4, 30)),
        (date(2026, 1, 15), date(2026, 1, 31)),
    ],
)
def test_month_end(month, end):
    assert month_end(month) == end


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "26-01", "abcd-ef", "2026/01", ""])
def test_month_end_refuses_malformed(bad):
    with pytest.raises(ValueError):
        month_end(bad)
