"""Settings stored in the database (thresholds, intervals), with defaults in code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.timeutil import utcnow

DEFAULTS: dict[str, Any] = {
    # SPEC §6: thresholds for the five-management rules.
    "flow_out_coordinated_months": 6,
    "flow_out_report_months": 3,
    # SPEC §8: certificate verification interval (months) and validity (years).
    "certificate_verification_months": 12,
    "certificate_valid_years": 2,
    "print_full_id_number": False,
    # SPEC §6: dual members' feedback sheet cadence (months).
    "feedback_sheet_months": 3,
    # SPEC §9: thought-report cadence per category (months).
    "thought_report_months": {"takeover": 1, "default": 3},
    "alert_absent_months": 6,
    # SPEC §9: contact cadence for mobile members (months).
    "contact_log_months": 3,
    # SPEC §9: dues brackets. Upper bounds in fen (a boundary belongs to the lower band, null =
    # no upper bound), rates per mille (5 = 0.5%); the flat amount for students, laid-off members
    # and members living on relief, in fen.
    "dues_brackets": {
        "in_service": [[300000, 5], [500000, 10], [1000000, 15], [None, 20]],
        "retired": [[500000, 5], [None, 10]],
        "flat_fen": 20,
    },
    "transfer_letter_valid_days": 30,
    # 目标考核 (seed 003): "<category>.<indicator>" -> yearly target; 0 leaves it out.
    "assessment_targets": {
        "direct.attendance_rate": 80,
        "direct.reports": 1,
        "direct.post_held": 1,
        "direct.pairs_active": 1,
        "dual.attendance_rate": 50,
        "dual.service_hours": 12,
        "dual.feedback_returned": 1,
        "shared.attendance_rate": 50,
        "shared.visits_received": 1,
        "takeover.five_one": 5,
        "takeover.attendance_rate": 80,
        "takeover.reports": 4,
        "coordinated.contacts": 4,
        "coordinated.reports": 2,
        "coordinated.card_checks": 1,
        "coordinated.other_org_contacts": 1,
    },
    "consent_version": "2026-11",
    "retention_years_rejected_registration": 1,
    # 共管: when care visits are due (app/care/rules.py).
    "care_visit_rules": {
        "lead_days": 15,
        "late_days": 30,
        "birthday_from_age": 70,
        "birthday_every": 10,
        "qiyi_min_age": 0,
        "spring_min_age": 0,
        "chongyang_min_age": 60,
    },
    # 协管: days without a contact with the other organization before it is overdue.
    "mobile_org_contact_days": 90,
    # 协管: days before a mobile probationary member's full membership is due to remind.
    "probation_reminder_days": 30,
    # 直管: a 结对帮扶 pair without a visit for this many days shows on 待办提醒.
    "help_pair_visit_days": 30,
    # 双管: sign-in code lifetime (minutes), feedback sheets per year (else per half-year), days
    # after sending a sheet when a missing 回执 becomes a reminder.
    "dual_signin_minutes": 15,
    "dual_feedback_yearly": False,
    "dual_feedback_return_days": 30,
}


class Setting(db.Model):
    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def get_setting(key: str) -> Any:
    if key not in DEFAULTS:
        raise KeyError(key)
    row = db.session.execute(select(Setting.value).where(Setting.key == key)).scalar_one_or_none()
    return DEFAULTS[key] if row is None else row


def all_settings() -> dict[str, Any]:
    values = dict(DEFAULTS)
    for key, value in db.session.execute(select(Setting.key, Setting.value)):
        if key in values:
            values[key] = value
    return values
