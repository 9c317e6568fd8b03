"""Registration fixtures: the places tree, valid answers per kind, and a client that walks the steps."""

from __future__ import annotations

import re
from datetime import date

import pytest

from app.registration import rules
from tests.members.conftest import grid_worker_of, id_number, make_member, staff_of, tree  # noqa: F401

DRAFT_RE = re.compile(r'name="draft" value="([^"]+)"')
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def answers(kind: str, tree: dict, seq: int = 1, **over) -> dict[str, str]:  # noqa: F811
    """Valid answers for every field of ``kind``."""
    values = {
        "name": "张晓明",
        "id_number": id_number(date(1985, 3, 4), seq),
        "phone": f"1391234{seq:04d}",
        "member_type": "formal",
        "joined_on": "2008-07-01",
        "full_member_on": "2009-07-01",
        "community_id": str(tree["community"].id),
        "grid_id": str(tree["grid_a"].id),
        "building_id": str(tree["building_a"].id),
        "room": "2单元301",
        "consent": "y",
        "sensitive_consent": "y",
    }
    values.update(
        {
            "in_service_report": {
                "relation_location": "work_unit",
                "work_unit": "金昌市供电公司",
                "work_unit_org": "供电公司党委",
                "work_unit_contact": "李主任 0935-8123456",
            },
            "relation_transfer_in": {
                "transfer_letter_no": "甘组转字2026第017号",
                "from_org": "金昌市第二中学党支部",
                "employment": "retired",
                "original_unit": "金昌市第二中学",
            },
            "flow_in": {
                "origin_org": "民勤县大坝镇党委",
                "origin_org_contact": "王书记 13800001111",
                "certificate_no": "",
                "origin_place": "甘肃省武威市民勤县",
                "mobility_since": "2025-03-01",
                "expected_until": "2027-03-01",
                "employer": "金川集团",
                "occupation": "电工",
            },
            "flow_out_report": {
                "destination": "广东省深圳市南山区",
                "mobility_since": "2026-09-01",
                "expected_return": "2027-06-30",
                "occupation": "软件开发",
                "contact_there": "13912345678",
            },
        }[kind]
    )
    values.update(over)
    return values


class Walker:
    """Goes through the form step by step like a browser without JavaScript."""

    def __init__(self, client):
        self.client = client
        self.draft = ""
        self.csrf = ""
        self.last = None

    def _read(self, response) -> None:
        html = response.get_data(as_text=True)
        if m := DRAFT_RE.search(html):
            self.draft = m.group(1)
        if m := CSRF_RE.search(html):
            self.csrf = m.group(1)
        self.last = response

    def start(self, kind: str):
        response = self.client.get(f"/register/{kind}")
        assert response.status_code == 200
        self._read(response)
        self.kind = kind
        return response

    def post(self, step: str, values: dict, action: str = "next", extra=None, **kw):  # noqa: ANN001
        data = {k: values.get(k, "") for k in rules.step_fields(self.kind, step)}
        data.update(extra or {})  # what the page sends besides the fields (the building search)
        data.update(draft=self.draft, step=step, action=action, csrf_token=self.csrf)
        if step == "consent":
            data = {
                k: v
                for k, v in data.items()
                if v != "" or k not in ("consent", "sensitive_consent")
            }
        response = self.client.post(f"/register/{self.kind}", data=data, **kw)
        self._read(response)
        return response

    def run(self, kind: str, values: dict):
        """All five steps; returns the final response (303 to the done page on success)."""
        self.start(kind)
        for step in rules.STEPS:
            action = "submit" if step == "consent" else "next"
            response = self.post(step, values, action)
            if response.status_code != 200 or step == "consent":
                return response
        return response


@pytest.fixture
def walker(client):
    return Walker(client)


@pytest.fixture
def register(app, tree):  # noqa: F811
    """Submit a registration through the service layer (fast set-up for review tests)."""
    from app.extensions import db
    from app.registration import services
    from app.timeutil import local_today

    counter = {"n": 0}

    def factory(kind: str = "flow_in", **over):
        counter["n"] += 1
        raw = answers(kind, tree, seq=100 + counter["n"], **over)
        values, errors = rules.clean_all(kind, raw, local_today())
        assert not errors, errors
        registration, _ = services.submit(kind, values, f"key-{counter['n']}-{kind}")
        db.session.commit()
        return registration

    return factory
