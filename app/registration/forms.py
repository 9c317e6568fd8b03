"""Registration forms. Every field validator calls ``rules.check_field`` — the same function the
per-field endpoints, the final submit and (through app.members.identity) the member services use."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import ValidationError

from app.registration import rules
from app.timeutil import local_today


class Check:
    """WTForms validator wrapping the pure per-field rule."""

    def __call__(self, form, field):  # noqa: ANN001
        try:
            rules.check_field(field.name, field.data, local_today(), getattr(form, "kind", ""))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def _text(name: str, **kw) -> StringField:
    return StringField(rules.LABELS[name], validators=[Check()], **kw)


def _date(name: str) -> StringField:
    return StringField(
        rules.LABELS[name],
        validators=[Check()],
        render_kw={"type": "date", "placeholder": "2001-07-01"},
    )


def _select(name: str, choices: dict[str, str]) -> SelectField:
    return SelectField(
        rules.LABELS[name],
        choices=[SelectChoice("", "请选择")] + [SelectChoice(k, v) for k, v in choices.items()],
        validators=[Check()],
        validate_choice=False,
    )


class RegistrationForm(FlaskForm):
    """All fields of all kinds; each step shows and checks its own (``rules.step_fields``)."""

    class Meta:
        csrf = False  # CSRFProtect checks every POST; the template carries the token

    name = _text("name", render_kw={"autocomplete": "name", "maxlength": 50})
    id_number = _text("id_number", render_kw={"autocomplete": "off", "maxlength": 22})
    phone = _text("phone", render_kw={"autocomplete": "tel", "inputmode": "tel", "maxlength": 20})
    second_phone = _text("second_phone", render_kw={"inputmode": "tel", "maxlength": 30})
    ethnicity = _text("ethnicity", render_kw={"placeholder": "汉族", "maxlength": 20})
    education = _text("education", render_kw={"placeholder": "如 大学本科", "maxlength": 30})

    member_type = _select("member_type", rules.CHOICES["member_type"])
    joined_on = _date("joined_on")
    full_member_on = _date("full_member_on")
    party_post = _text("party_post", render_kw={"maxlength": 50})
    relation_location = _select("relation_location", rules.RELATION_CHOICES)
    transfer_letter_no = _text("transfer_letter_no", render_kw={"maxlength": 40})
    from_org = _text("from_org", render_kw={"maxlength": 100})
    origin_org = _text("origin_org", render_kw={"maxlength": 100})
    origin_org_contact = _text("origin_org_contact", render_kw={"maxlength": 100})
    certificate_no = _text("certificate_no", render_kw={"maxlength": 40})
    certificate_org = _text("certificate_org", render_kw={"maxlength": 100})
    certificate_valid_until = _date("certificate_valid_until")

    employment = _select("employment", rules.TRANSFER_EMPLOYMENTS)
    original_unit = _text("original_unit", render_kw={"maxlength": 100})
    work_unit = _text("work_unit", render_kw={"maxlength": 100})
    work_unit_org = _text("work_unit_org", render_kw={"maxlength": 100})
    work_unit_contact = _text("work_unit_contact", render_kw={"maxlength": 100})
    origin_place = _text(
        "origin_place", render_kw={"placeholder": "如 甘肃省金昌市", "maxlength": 100}
    )
    mobility_since = _date("mobility_since")
    expected_until = _date("expected_until")
    employer = _text("employer", render_kw={"maxlength": 100})
    occupation = _text("occupation", render_kw={"maxlength": 100})
    destination = _text("destination", render_kw={"maxlength": 100})
    expected_return = _date("expected_return")
    contact_there = _text("contact_there", render_kw={"maxlength": 100})

    community_id = SelectField(rules.LABELS["community_id"], choices=[], validate_choice=False)
    grid_id = SelectField(rules.LABELS["grid_id"], choices=[], validate_choice=False)
    building_id = SelectField(rules.LABELS["building_id"], choices=[], validate_choice=False)
    room = _text("room", render_kw={"placeholder": "如 2单元301", "maxlength": 30})
    address = _text("address", render_kw={"maxlength": 200})

    consent = BooleanField(rules.LABELS["consent"], validators=[Check()])
    sensitive_consent = BooleanField(rules.LABELS["sensitive_consent"], validators=[Check()])

    def __init__(self, *args, kind: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        for name, text in rules.KIND_LABELS.get(kind, {}).items():
            self[name].label.text = text
        for name in rules.REQUIRED:
            if name in self and rules.is_required(name, kind):
                self[name].flags.required = True


class FlowOutForm(FlaskForm):
    """A logged-in member's flow-out report (外出报告): the member record supplies the rest."""

    class Meta:
        csrf = False

    destination = _text("destination", render_kw={"maxlength": 100})
    mobility_since = _date("mobility_since")
    expected_return = _date("expected_return")
    occupation = _text("occupation", render_kw={"maxlength": 100})
    contact_there = _text("contact_there", render_kw={"maxlength": 100})
    consent = BooleanField(rules.LABELS["consent"], validators=[Check()])
    sensitive_consent = BooleanField(rules.LABELS["sensitive_consent"], validators=[Check()])

    kind = "flow_out_report"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mobility_since.label.text = "外出日期"
        for name in (
            "destination",
            "mobility_since",
            "expected_return",
            "occupation",
            "contact_there",
        ):
            self[name].flags.required = True


class DecisionForm(FlaskForm):
    class Meta:
        csrf = False

    reason = TextAreaField("理由（不予通过或退回修改时必填，会告知报到人）")
