"""The helpers that replaced repeated code: shared model columns, the scoped loader of a
member's records, form validation with Chinese messages, the XLSX download, the end of an
import command."""

from __future__ import annotations

from datetime import date

import pytest
from flask_wtf import FlaskForm
from werkzeug.exceptions import NotFound
from wtforms import DateField

from app.columns import Created, RecordedBy, Updated, Versioned, label_of
from app.extensions import db
from app.followup.models import LostContactCase, OrgEvent, ThoughtReport
from app.forms import DATE_MSG, validated
from app.members.models import Member
from app.organization.models import Org, Place
from app.organization.scope import get_of_member_in_scope_or_404
from app.spreadsheets import XLSX_MIMETYPE, ImportPreview, ImportRow, xlsx_download
from tests.organization.factories import build_world, place_member


class _Coded:
    outcome_label = label_of({"restored": "已取得联系"}, "outcome")

    def __init__(self, outcome):  # noqa: ANN001
        self.outcome = outcome


def test_label_of_shows_the_label_an_unknown_code_itself_and_nothing_for_none():
    assert _Coded("restored").outcome_label == "已取得联系"
    assert _Coded("odd").outcome_label == "odd"
    assert _Coded(None).outcome_label == ""


@pytest.mark.parametrize("model", [Member, OrgEvent, LostContactCase])
def test_versioned_models_count_their_version(model):
    assert issubclass(model, Versioned)
    assert model.__mapper__.version_id_col is model.__table__.c.version


def test_mixed_in_columns_are_the_tables_own():
    assert issubclass(ThoughtReport, RecordedBy) and issubclass(ThoughtReport, Created)
    recorded_by = ThoughtReport.__table__.c.recorded_by_id
    assert recorded_by.nullable and {fk.target_fullname for fk in recorded_by.foreign_keys} == {
        "user.id"
    }
    assert issubclass(OrgEvent, Updated)
    assert OrgEvent.__table__.c.updated_at.onupdate is not None
    assert not Org.__table__.c.created_at.nullable
    assert Place(retired_at=None).is_active and not Org(retired_at=date(2020, 1, 1)).is_active


def test_a_members_record_outside_the_scope_answers_404(app, make_user):
    world = build_world()
    member = place_member(world["a"])
    case_ = LostContactCase(
        member_id=member.id, kind="pocket", since=date(2024, 1, 1), opened_on=date(2024, 2, 1)
    )
    db.session.add(case_)
    db.session.commit()
    admin = make_user("admin")
    assert get_of_member_in_scope_or_404(LostContactCase, case_.id, admin) is case_
    stranger = make_user("staff")  # no scope at all
    with app.test_request_context(), pytest.raises(NotFound):
        get_of_member_in_scope_or_404(LostContactCase, case_.id, stranger)
    with app.test_request_context(), pytest.raises(NotFound):
        get_of_member_in_scope_or_404(LostContactCase, case_.id + 1000, admin)


class _DayForm(FlaskForm):
    day = DateField("日期")


def test_validated_puts_wtforms_parse_errors_in_chinese(app):
    with app.test_request_context(method="POST", data={"day": "not a date"}):
        form = _DayForm(meta={"csrf": False})
        assert validated(form) is False
        assert form.day.errors == [DATE_MSG]
    with app.test_request_context(method="POST", data={"day": "2024-05-01"}):
        form = _DayForm(meta={"csrf": False})
        assert validated(form) is True
        assert form.day.data == date(2024, 5, 1)


def test_xlsx_download_is_an_uncached_attachment(app):
    response = xlsx_download(b"PK", "dues-all-2024-05-01.xlsx")
    assert response.mimetype == XLSX_MIMETYPE
    assert (
        response.headers["Content-Disposition"] == "attachment; filename=dues-all-2024-05-01.xlsx"
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_data() == b"PK"


def test_an_import_commands_dry_run_writes_nothing(app, capsys):
    preview = ImportPreview([ImportRow(line=2, values={}, status="create")])
    db.session.add(Place(kind="community", name="试运行社区"))
    db.session.flush()
    preview.finish_command(True, "org_import", "structure", {"file": "x.xlsx"})
    assert "试运行：未写入数据库。" in capsys.readouterr().out
    assert db.session.query(Place).filter_by(name="试运行社区").count() == 0
