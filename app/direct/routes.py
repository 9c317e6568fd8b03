"""Staff pages of the 直管 practice: posts, a member's posts / pairs / 争五好, the lists."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from flask_login import current_user
from markupsafe import escape
from wtforms import SelectChoice

from app.direct import queries, services
from app.direct.blueprint import bp
from app.direct.forms import (
    AssignForm,
    DecideForm,
    EndForm,
    PairForm,
    PostForm,
    ReviewForm,
    VisitForm,
)
from app.direct.models import (
    ASSIGNMENT_STATES,
    FIVE_GOOD_ITEMS,
    NEED_KINDS,
    DutyPost,
    HelpPair,
    PostAssignment,
)
from app.errors import errors_onto, form_status, render_form
from app.extensions import db
from app.forms import validated
from app.htmx import client_redirect, is_htmx, render_page_or_block
from app.members.models import Member
from app.organization.scope import (
    get_in_scope_or_404,
    get_of_member_in_scope_or_404,
    member_scope_filter,
    place_scope_filter,
)
from app.params import query_int
from app.security import mark_personal, mask_phone, staff_required
from app.timeutil import local_today


def _see(target: str) -> Response:
    """After a successful POST: a full navigation (htmx or not)."""
    return client_redirect(target) if is_htmx() else redirect(target, code=303)


# ---- posts (岗位) --------------------------------------------------------------------------------


def _post_in_scope(post_id: int) -> DutyPost:
    return get_in_scope_or_404(
        DutyPost, post_id, current_user, lambda u: place_scope_filter(u, DutyPost.community_id)
    )


def _posts_context(form: PostForm) -> dict:
    communities = queries.scoped_communities(current_user)
    form.community_id.choices = [SelectChoice(c.id, c.name) for c in communities]
    names = {c.id: c.name for c in communities}
    posts = queries.posts_of(list(names))
    return {"communities": communities, "names": names, "posts": posts, "form": form}


@bp.route("/direct/posts", methods=["GET", "POST"])
@staff_required
def posts():
    form = PostForm()
    context = _posts_context(form)
    if request.method == "POST":
        allowed = {c.id for c in context["communities"]}
        if validated(form):
            if form.community_id.data not in allowed:
                form.community_id.errors = ["请选择您管理范围内的社区"]
            else:
                with errors_onto(form):
                    services.create_post(
                        form.community_id.data, form.name.data, form.duties.data, current_user
                    )
                    flash("已添加岗位", "success")
                    return _see(url_for("direct.posts"))
        context.pop("form")
        return render_form("direct/posts.html", "post_form", form, **context)
    return render_page_or_block("direct/posts.html", "content", **context)


@bp.route("/direct/posts/seed", methods=["POST"])
@staff_required
def seed_posts():
    added = 0
    for community in queries.scoped_communities(current_user):
        added += services.ensure_seed_posts(community.id, current_user)
    if added:
        from app import audit

        audit.record("direct_post_seed", object_type="duty_post", detail=f"{added} 个岗位")
    flash(f"已添加 {added} 个基本岗位" if added else "各社区已有岗位，没有添加", "success")
    return _see(url_for("direct.posts"))


@bp.route("/direct/posts/<int:post_id>", methods=["GET", "POST"])
@staff_required
def post_edit(post_id: int):
    post = _post_in_scope(post_id)
    form = PostForm(obj=post if request.method == "GET" else None)
    form.community_id.choices = [SelectChoice(post.community_id, "")]
    if request.method == "GET":
        form.retired.data = post.retired_at is not None
    if request.method == "POST" and validated(form):
        with errors_onto(form):
            services.update_post(
                post, form.name.data, form.duties.data, form.retired.data, current_user
            )
            flash("已保存岗位", "success")
            return _see(url_for("direct.posts"))
    return render_form("direct/post_edit.html", "content", form, post=post)


# ---- a member's 直管 page -------------------------------------------------------------------------


def _member(member_id: int) -> Member:
    return get_in_scope_or_404(Member, member_id, current_user, member_scope_filter)


def _assign_form(member: Member, form: AssignForm | None = None) -> AssignForm:
    form = form or AssignForm(formdata=None)
    form.post_id.choices = [SelectChoice("", "请选择")] + [
        SelectChoice(p.id, p.name)
        for p in queries.posts_of([member.community_id or 0], active_only=True)
    ]
    form.buildings.choices = [
        SelectChoice(b.id, b.name) for b in services.community_buildings(member.community_id)
    ]
    if not request.form and member.building_id and not form.buildings.data:
        form.buildings.data = [member.building_id]
    if not request.form and form.starts_on.data is None:
        form.starts_on.data = local_today()
    return form


def _pair_form(member: Member, form: PairForm | None = None) -> PairForm:
    form = form or PairForm(formdata=None, prefix="pair")
    form.building_id.choices = [SelectChoice("", "请选择")] + [
        SelectChoice(b.id, b.name) for b in services.community_buildings(member.community_id)
    ]
    if not request.form and form.starts_on.data is None:
        form.starts_on.data = local_today()
    return form


def _review_form(form: ReviewForm | None = None) -> ReviewForm:
    form = form or ReviewForm(formdata=None, prefix="review")
    year = local_today().year
    form.year.choices = [SelectChoice(y, f"{y} 年") for y in range(year, year - 5, -1)]
    if form.year.data is None:
        form.year.data = year
    return form


def _member_context(member: Member, **forms) -> dict:
    return {
        "member": member,
        "panel": {
            "assignments": queries.member_assignments(member.id),
            "pairs": queries.member_pairs(member.id),
            "reviews": queries.member_reviews(member.id),
        },
        "assign_form": _assign_form(member, forms.get("assign_form")),
        "pair_form": _pair_form(member, forms.get("pair_form")),
        "review_form": _review_form(forms.get("review_form")),
        "five_items": FIVE_GOOD_ITEMS,
        "states": ASSIGNMENT_STATES,
        "end_form": EndForm(formdata=None),
        "end_id": None,
        "today": local_today(),
    }


@bp.route("/direct/members/<int:member_id>")
@staff_required
def member(member_id: int):
    mark_personal()
    m = _member(member_id)
    return render_page_or_block("direct/member.html", "content", **_member_context(m))


@bp.route("/direct/members/<int:member_id>/posts", methods=["POST"])
@staff_required
def assign(member_id: int):
    mark_personal()
    m = _member(member_id)
    form = _assign_form(m, AssignForm())
    if validated(form):
        with errors_onto(form):
            services.assign_post(
                m,
                current_user,
                post_id=form.post_id.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                building_ids=form.buildings.data or [],
                note=form.note.data,
            )
            flash("已设岗并划定责任区", "success")
            return _see(url_for("direct.member", member_id=m.id))
    context = _member_context(m, assign_form=form)
    context.pop("assign_form")
    return render_form("direct/member.html", "assign_block", form, assign_form=form, **context)


@bp.route("/direct/members/<int:member_id>/pairs", methods=["POST"])
@staff_required
def add_pair(member_id: int):
    mark_personal()
    m = _member(member_id)
    form = _pair_form(m, PairForm(prefix="pair"))
    if validated(form):
        with errors_onto(form):
            services.create_pair(m, current_user, form.data)
            flash("已建立结对帮扶", "success")
            return _see(url_for("direct.member", member_id=m.id))
    context = _member_context(m, pair_form=form)
    context.pop("pair_form")
    return render_form("direct/member.html", "pair_block", form, pair_form=form, **context)


@bp.route("/direct/members/<int:member_id>/reviews", methods=["POST"])
@staff_required
def save_review(member_id: int):
    mark_personal()
    m = _member(member_id)
    form = _review_form(ReviewForm(prefix="review"))
    if validated(form):
        with errors_onto(form):
            services.save_review(
                m,
                current_user,
                year=form.year.data,
                items={key: getattr(form, key).data for key in FIVE_GOOD_ITEMS},
                assessment=form.assessment.data,
                note=form.note.data,
            )
            flash("已保存争五好评议", "success")
            return _see(url_for("direct.member", member_id=m.id))
    context = _member_context(m, review_form=form)
    context.pop("review_form")
    return render_form("direct/member.html", "review_block", form, review_form=form, **context)


# ---- assignments ------------------------------------------------------------------------------


def _assignment(assignment_id: int) -> PostAssignment:
    return get_of_member_in_scope_or_404(PostAssignment, assignment_id, current_user)


@bp.route("/direct/assignments")
@staff_required
def assignments():
    mark_personal()
    state = request.args.get("state", "current")
    if state not in queries.ASSIGNMENT_FILTERS:
        state = "current"
    page = queries.assignments_page(current_user, state)
    return render_page_or_block(
        "direct/assignments.html",
        "results",
        page=page,
        state=state,
        filters=queries.ASSIGNMENT_FILTERS,
        states=ASSIGNMENT_STATES,
        today=local_today(),
        decide_form=DecideForm(formdata=None),
    )


@bp.route("/direct/assignments/<int:assignment_id>/decide", methods=["POST"])
@staff_required
def decide(assignment_id: int):
    a = _assignment(assignment_id)
    form = DecideForm()
    action = request.form.get("action", "")
    if validated(form):
        with errors_onto(form):
            services.decide(a, action, form.reason.data, current_user)
            flash("已通过申请" if action == "approve" else "已退回申请", "success")
            return _see(url_for("direct.assignments", state="requested"))
    return render_page_or_block(
        "direct/assignments.html",
        "results",
        status=form_status(form),
        page=queries.assignments_page(current_user, "requested"),
        state="requested",
        filters=queries.ASSIGNMENT_FILTERS,
        states=ASSIGNMENT_STATES,
        today=local_today(),
        decide_form=form,
        failed_id=a.id,
    )


@bp.route("/direct/assignments/<int:assignment_id>/end", methods=["POST"])
@staff_required
def end(assignment_id: int):
    mark_personal()
    a = _assignment(assignment_id)
    form = EndForm()
    if validated(form):
        with errors_onto(form):
            services.end_assignment(a, form.ends_on.data, current_user)
            flash("已设置岗位结束日期", "success")
            return _see(url_for("direct.member", member_id=a.member_id))
    m = db.session.get(Member, a.member_id)
    context = _member_context(m)
    context["end_form"], context["end_id"] = form, a.id
    return render_form("direct/member.html", "content", form, **{
        k: v for k, v in context.items() if k != "form"
    })  # fmt: skip


# ---- 结对帮扶 -------------------------------------------------------------------------------------


def _pair(pair_id: int) -> HelpPair:
    return get_of_member_in_scope_or_404(HelpPair, pair_id, current_user)


@bp.route("/direct/pairs")
@staff_required
def pairs():
    mark_personal()
    state = request.args.get("state", "open")
    if state not in queries.PAIR_FILTERS:
        state = "open"
    page = queries.pairs_page(current_user, state)
    return render_page_or_block(
        "direct/pairs.html",
        "results",
        page=page,
        state=state,
        filters=queries.PAIR_FILTERS,
        kinds=NEED_KINDS,
        idle_days=queries.idle_days(),
    )


def _pair_context(pair: HelpPair, **kw) -> dict:
    from app.organization.models import Place

    form = kw.pop("form", None) or VisitForm(formdata=None)
    member = db.session.get(Member, pair.member_id)
    if form.visited_on.data is None and not request.form:
        form.visited_on.data = local_today()
    if not form.visitor.data and not request.form:
        form.visitor.data = member.name
    return {
        "pair": pair,
        "member": member,
        "building": db.session.get(Place, pair.building_id),
        "visits": queries.visits_of(pair.id),
        "visit_form": form,
        "end_form": kw.pop("end_form", None) or EndForm(formdata=None),
        "phone_masked": mask_phone(pair.helped_phone),
        "today": local_today(),
        **kw,
    }


@bp.route("/direct/pairs/<int:pair_id>")
@staff_required
def pair(pair_id: int):
    mark_personal()
    p = _pair(pair_id)
    return render_page_or_block("direct/pair.html", "content", **_pair_context(p))


@bp.route("/direct/pairs/<int:pair_id>/visits", methods=["POST"])
@staff_required
def add_visit(pair_id: int):
    mark_personal()
    p = _pair(pair_id)
    form = VisitForm()
    if validated(form):
        with errors_onto(form):
            services.record_visit(
                p,
                current_user,
                visited_on=form.visited_on.data,
                content=form.content.data,
                visitor=form.visitor.data,
            )
            flash("已记录帮扶情况", "success")
            return _see(url_for("direct.pair", pair_id=p.id))
    return render_form("direct/pair.html", "visit_block", form, **_pair_context(p, form=form))


@bp.route("/direct/pairs/<int:pair_id>/end", methods=["POST"])
@staff_required
def end_pair(pair_id: int):
    mark_personal()
    p = _pair(pair_id)
    form = EndForm()
    if validated(form):
        with errors_onto(form):
            services.end_pair(p, form.ends_on.data, current_user)
            flash("已结束结对帮扶", "success")
            return _see(url_for("direct.pair", pair_id=p.id))
    return render_form("direct/pair.html", "content", form, **_pair_context(p, end_form=form))


@bp.route("/direct/pairs/<int:pair_id>/reveal", methods=["POST"])
@staff_required
def reveal_pair(pair_id: int):
    mark_personal()
    p = _pair(pair_id)
    services.reveal_pair(p)
    return Response(
        f'<span id="helped-phone" class="mono">{escape(p.helped_phone or "未登记")}</span>',
        mimetype="text/html",
    )


# ---- 争五好 ---------------------------------------------------------------------------------------


@bp.route("/direct/reviews")
@staff_required
def reviews():
    mark_personal()
    today = local_today()
    year = query_int(request.args, "year", minimum=2000, maximum=today.year) or today.year
    page = queries.reviews_page(current_user, year)
    return render_page_or_block(
        "direct/reviews.html",
        "results",
        page=page,
        year=year,
        years=list(range(today.year, today.year - 5, -1)),
        five_items=FIVE_GOOD_ITEMS,
    )
