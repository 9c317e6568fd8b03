from datetime import date

import pytest

from app.dual import services
from app.extensions import db
from tests.certificates.conftest import pdf_text as _pdf_text
from tests.members.conftest import make_member, staff_of, tree  # noqa: F401, F811


@pytest.fixture
def dual_member(make_member, tree):  # noqa: F811
    """An in-service member (双管) living in building A, employed by 市第一中学."""

    def factory(name="在职甲", unit="市第一中学", **kw):
        return make_member(
            name=name,
            building=tree["building_a"],
            employment="in_service",
            relation_location="work_unit",
            work_unit=unit,
            work_unit_org=f"{unit}党总支",
            **kw,
        )

    return factory


@pytest.fixture
def need(tree):  # noqa: F811
    def factory(places=1, **kw):
        kw.setdefault("title", "楼道清扫志愿岗")
        n = services.publish_need(
            {"kind": "post", "places": places, "starts_on": date(2026, 1, 1), **kw},
            tree["community"].id,
            None,
        )
        db.session.commit()
        return n

    return factory


@pytest.fixture
def pdf_text():
    """pdftotext of a PDF; each PDF is also kept in the test's tmp_path (doc-N.pdf) to look at."""
    seen = {"n": 0}

    def text(pdf: bytes, tmp_path) -> str:  # noqa: ANN001
        seen["n"] += 1
        (tmp_path / f"doc-{seen['n']}.pdf").write_bytes(pdf)
        return _pdf_text(pdf, tmp_path)

    return text
