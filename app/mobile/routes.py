"""协管 pages: mobile members and the other organization, the contact log and 联系函, stations
(集出集管), the 二卡三簿 ledger."""

from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from app import reminders, work
from app.audit import record
from app.certificates.blueprint import _pdf_response
from app.certificates.engine import render_pdf
from app.errors import DomainError, errors_onto, put_errors, render_form
from app.extensions import db
from app.forms import validated
from app.htmx import render_page_or_block, see_other
from app.members.models import MOBILITIES, Member
from app.members.queries import PINYIN_ORDER
from app.mobile import ledger, queries, rules, services
from app.mobile.forms import ContactForm, LetterForm, StationForm, StationMemberForm, choices
from app.mobile.models import MobileStation, MobileStationMember
from app.organization.models import Place
from app.organization.scope import get_in_scope_or_404, member_scope_filter, place_scope_filter
from app.paging import keyset_page
from app.params import query_int
from app.security import mark_personal, staff_required
from app.settings import get_setting
from app.spreadsheets import write_workbook, xlsx_download
from app.timeutil import local_today

bp = Blueprint("mobile", __name__, url_prefix="/mobile")

reminders.register(
    "mobile_org_contact_overdue",
    "流动党员与对方党组织联系逾期",
    lambda user: queries.count(user, "contact"),
    "mobile.index",
    overdue=True,
    order=61,
    due="contact",
)
reminders.register(
    "mobile_probation_due",
    "流动预备党员转正到期",
    lambda user: queries.count(user, "probation"),
    "mobile.index",
    order=62,
    due="probation",
)
work.register("coordinated", "流动党员双向管理（联系对方党组织、联系函）", "mobile.index", order=10)
work.register("coordinated", "二卡三簿台账", "mobile.ledger_page", order=20)
work.register("coordinated", "流动党员管理站（集出集管）", "mobile.stations", order=30)


@bp.app_context_processor
def _card_helpers() -> dict:
    return {"mobile_card": _card_facts}


def _probation(member: Member, days: int | None = None) -> dict | None:
    """The probationary member's full-membership date and state; ``days`` (the reminder's
    lead time) is read from the settings unless a list passes it once for all its rows."""
    if days is None:
        days = int(get_setting("probation_reminder_days"))
    state = rules.probation_state(
        member.member_type, member.full_member_on, member.joined_on, local_today(), days
    )
    if state is None:
        return None
    return {"due": rules.full_membership_due(member.joined_on), "state": state}


def _card_facts(member: Member) -> dict:
    other = queries.other_org(member)
    contacts = queries.contacts_of(member.id) if other else []
    return {
        "other": other,
        "last": contacts[0] if contacts else None,
        "probation": _probation(member) if other else None,
    }


def _member(member_id: int) -> Member:
    return get_in_scope_or_404(Member, member_id, current_user, member_scope_filter)


def _station_scope(user):  # noqa: ANN001, ANN202
    return place_scope_filter(user, MobileStation.community_id)


def _station(station_id: int) -> MobileStation:
    return get_in_scope_or_404(MobileStation, station_id, current_user, _station_scope)


@bp.route("/")
@staff_required
def index():
    """流动党员 (two-way management): direction, the other organization, probation due."""
    mark_personal()
    direction = (
        request.args.get("direction") if request.args.get("direction") in ("out", "in") else None
    )
    due = request.args.get("due") if request.args.get("due") in queries.FILTERS else None
    where = queries.list_where(current_user, direction, due)
    page = keyset_page(select(Member).where(*where), PINYIN_ORDER, cursor=lambda row: row[0].id)
    members = [row[0] for row in page.rows]
    total = db.session.execute(select(func.count(Member.id)).where(*where)).scalar_one()
    others = queries.other_orgs(members)
    days = int(get_setting("probation_reminder_days"))
    rows = [
        {"member": m, "other": others.get(m.id), "probation": _probation(m, days)} for m in members
    ]
    return render_page_or_block(
        "mobile/index.html",
        "results",
        page=page,
        rows=rows,
        total=total,
        direction=direction,
        due=due,
        filters=queries.FILTERS,
        mobilities=MOBILITIES,
    )


def _member_context(member: Member, form: ContactForm | None = None) -> dict:
    other = queries.other_org(member)
    if form is None:
        form = ContactForm(formdata=None)
        form.contacted_on.data = local_today()
        kind = request.args.get("kind")
        if kind in ("feedback", "letter", "consult"):
            form.kind.data = kind
        form.org_name.data = other.name if other else ""
    start, end = services.default_period()
    letter = LetterForm(formdata=None, data={"start": start, "end": end})
    return {
        "member": member,
        "other": other,
        "form": form,
        "letter": letter,
        "contacts": queries.contacts_of(member.id),
        "station": queries.station_of(member.id),
        "probation": _probation(member),
    }


@bp.route("/member/<int:member_id>")
@staff_required
def member(member_id: int):
    mark_personal()
    return render_page_or_block(
        "mobile/member.html", "content", **_member_context(_member(member_id))
    )


@bp.route("/member/<int:member_id>/contact", methods=["POST"])
@staff_required
def contact(member_id: int):
    mark_personal()
    m = _member(member_id)
    form = ContactForm()
    if validated(form):
        with errors_onto(form):
            services.log_contact(m, form.data, current_user)
            flash("已登记", "success")
            return see_other(url_for("mobile.member", member_id=m.id))
    return render_page_or_block(
        "mobile/member.html", "content", status=422, **_member_context(_member(member_id), form)
    )


@bp.route("/member/<int:member_id>/letter.pdf")
@staff_required
def letter_pdf(member_id: int):
    """联系函 to the other organization: the member's situation for a period."""
    m = _member(member_id)
    form = LetterForm(request.args)
    if not validated(form) or form.start.data > form.end.data:
        if form.start.data and form.end.data and form.start.data > form.end.data:
            form.end.errors = [*form.end.errors, "截止日期不能早于起始日期"]
        context = _member_context(m)
        context["letter"] = form
        return render_page_or_block("mobile/member.html", "content", status=422, **context)
    other = queries.other_org(m)
    if other is None:
        raise DomainError("该党员不是流动党员，没有对方党组织")
    facts = queries.situation(m, form.start.data, form.end.data)
    from app.certificates.documents import cn_date

    data = render_pdf(
        "mobile_letter.html",
        {
            "member": m,
            "other": other,
            "s": facts,
            "start": cn_date(form.start.data),
            "end": cn_date(form.end.data),
            "today": cn_date(local_today()),
            "probation": _probation(m),
            "from_org": _home_org_name(m),
        },
    )
    record("mobile_letter_print", m, after={"start": form.start.data, "end": form.end.data})
    return _pdf_response(data, f"letter-{m.id}.pdf")


def _home_org_name(member: Member) -> str:
    from app.organization.models import Org

    if member.branch_id:
        name = db.session.get(Org, member.branch_id)
        if name is not None:
            return name.name
    return "社区党组织"


# ---- stations (集出集管) -----------------------------------------------------------------------


def _communities() -> list[tuple[int, str]]:
    return [
        (r.id, r.name)
        for r in db.session.execute(
            select(Place.id, Place.name)
            .where(
                Place.kind == "community",
                Place.retired_at.is_(None),
                place_scope_filter(current_user),
            )
            .order_by(Place.name)
        )
    ]


@bp.route("/stations", methods=["GET", "POST"])
@staff_required
def stations():
    mark_personal()
    form = StationForm()
    form.community_id.choices = choices(_communities())
    if request.method == "POST" and validated(form):
        with errors_onto(form):
            station = services.save_station(None, form.data, current_user)
            flash("已建立流动党员管理站", "success")
            return see_other(url_for("mobile.station", station_id=station.id))
    counts = (
        select(MobileStationMember.station_id, func.count().label("n"))
        .group_by(MobileStationMember.station_id)
        .subquery()
    )
    stmt = (
        select(MobileStation, func.coalesce(counts.c.n, 0).label("n"))
        .outerjoin(counts, counts.c.station_id == MobileStation.id)
        .where(_station_scope(current_user))
    )
    page = keyset_page(stmt, (MobileStation.id,), cursor=lambda row: row[0].id)
    return render_form("mobile/stations.html", "content", form, page=page)


def _candidates(station: MobileStation) -> list[tuple[str, str]]:
    """Flow-out members of the station's community not yet at a station."""
    today = local_today()
    from app.members.management import away_clause, managed_clause

    rows = db.session.execute(
        select(Member.id, Member.name, Member.mobility_place)
        .where(
            managed_clause(),
            away_clause(today),
            Member.community_id == station.community_id,
            member_scope_filter(current_user),
            ~select(MobileStationMember.id)
            .where(MobileStationMember.member_id == Member.id)
            .exists(),
        )
        .order_by(*PINYIN_ORDER)
        .limit(300)
    ).all()
    return [("", "请选择")] + [
        (str(r.id), f"{r.name}（{r.mobility_place or '外出地未填'}）") for r in rows
    ]


def _station_page(station: MobileStation, form=None, member_form=None, status: int = 200):  # noqa: ANN001
    if form is None:
        form = StationForm(formdata=None, obj=station)
    form.community_id.choices = choices(_communities())
    member_form = member_form or StationMemberForm(formdata=None)
    member_form.member.choices = choices(_candidates(station))
    members = db.session.execute(
        select(Member)
        .join(MobileStationMember, MobileStationMember.member_id == Member.id)
        .where(MobileStationMember.station_id == station.id, member_scope_filter(current_user))
        .order_by(*PINYIN_ORDER)
    ).scalars()
    return render_page_or_block(
        "mobile/station.html",
        "content",
        status=status,
        station=station,
        form=form,
        member_form=member_form,
        members=list(members),
    )


@bp.route("/stations/<int:station_id>", methods=["GET", "POST"])
@staff_required
def station(station_id: int):
    mark_personal()
    s = _station(station_id)
    if request.method == "GET":
        return _station_page(s)
    form = StationForm()
    form.community_id.choices = choices(_communities())
    if validated(form):
        with errors_onto(form):
            services.save_station(s, {**form.data, "community_id": s.community_id}, current_user)
            flash("已保存", "success")
            return see_other(url_for("mobile.station", station_id=s.id))
    return _station_page(_station(station_id), form=form, status=422)


@bp.route("/stations/<int:station_id>/members", methods=["POST"])
@staff_required
def station_members(station_id: int):
    mark_personal()
    s = _station(station_id)
    form = StationMemberForm()
    remove = query_int(request.form, "remove")
    try:
        if remove:
            services.remove_station_member(s, remove, current_user)
            flash("已移出管理站", "success")
        else:
            member_id = query_int(request.form, "member")
            if member_id is None:
                raise DomainError("请选择党员", field="member")
            allowed = {value for value, _ in _candidates(s)}
            if str(member_id) not in allowed:
                raise DomainError(
                    "该党员不能编入本管理站（须为本社区外出党员，且未编入其他管理站）",
                    field="member",
                )
            services.add_station_member(s, _member(member_id), current_user)
            flash("已编入管理站", "success")
    except DomainError as error:
        db.session.rollback()
        put_errors(form, error)
        return _station_page(_station(station_id), member_form=form, status=422)
    return see_other(url_for("mobile.station", station_id=s.id))


# ---- 二卡三簿台账 --------------------------------------------------------------------------------


def _year() -> int:
    today = local_today()
    return query_int(request.args, "year", minimum=2000, maximum=today.year + 1) or today.year


@bp.route("/ledger")
@staff_required
def ledger_page():
    mark_personal()
    year = _year()
    key = request.args.get("book") if request.args.get("book") in ledger.BOOKS else "cards"
    book = ledger.BOOKS[key]
    page = keyset_page(book.stmt(current_user, year), book.order(), cursor=lambda row: row[0].id)
    return render_page_or_block(
        "mobile/ledger.html",
        "results",
        year=year,
        key=key,
        book=book,
        books=ledger.BOOKS,
        counts=ledger.cached_counts(current_user, year),
        page=page,
        rows=[book.row(r) for r in page.rows],
    )


@bp.route("/ledger.xlsx")
@staff_required
def ledger_xlsx():
    year = _year()
    sheets = [
        (book.title, book.header, ledger.all_rows(book, current_user, year))
        for book in ledger.BOOKS.values()
    ]
    record(
        "mobile_ledger_export",
        object_type="ledger",
        after={"year": year, "counts": {t: len(r) for t, _, r in sheets}},
    )
    return xlsx_download(write_workbook(sheets), f"ledger-{year}.xlsx")


@bp.route("/ledger.pdf")
@staff_required
def ledger_pdf():
    year = _year()
    books = [
        (book.title, book.header, ledger.all_rows(book, current_user, year, limit=5000))
        for book in ledger.BOOKS.values()
    ]
    data = render_pdf("mobile_ledger.html", {"books": books, "year": year, "today": local_today()})
    record("mobile_ledger_print", object_type="ledger", after={"year": year})
    return _pdf_response(data, f"ledger-{year}.pdf")
