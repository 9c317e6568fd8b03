"""Every route × every role answers as declared (SPEC §12).

New routes must be declared in ROUTES (keyed by the rule's path, which outlives endpoint
renames), or ``test_every_route_is_declared`` fails. Routes with ids in the URL declare a
``kwargs`` function that builds its objects from ``world``: objects inside the scope of the
``staff`` and ``grid_worker`` users, and objects outside it.

Below ROUTES, the generated matrix (``test_foreign_objects_answer_404_and_write_nothing``)
requests every rule with an id, with every method, with another community's and another
member's objects, built by one factory per URL argument name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import pytest

from app.organization import appointments
from app.timeutil import add_months, freeze, local_today
from tests.conftest import csrf_token

ROLES = ("anonymous", "member", "grid_worker", "staff", "admin")
LOGIN = 302  # anonymous users are sent to the login page


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int, anonymous: int = LOGIN) -> dict[str, int]:
    return {**everyone(status), "anonymous": anonymous}


def staff_only(status: int = 200) -> dict[str, int]:
    return {
        "anonymous": LOGIN,
        "member": 403,
        "grid_worker": status,
        "staff": status,
        "admin": status,
    }


def _org_staff(status: int) -> dict[str, int]:
    """Staff routes on the org tree: a grid worker's scope holds no org nodes (404)."""
    return {**staff_only(status), "grid_worker": 404}


def admin_only(status: int = 200) -> dict[str, int]:
    return {"anonymous": LOGIN, "member": 403, "grid_worker": 403, "staff": 403, "admin": status}


@dataclass
class Route:
    method: str
    expected: dict[str, int]
    kwargs: Callable[[dict], dict] = field(default=lambda world: {})
    data: Callable[[dict], dict] = field(default=lambda world: {})


ROUTES: dict[str, Route] = {
    "/": Route("GET", {**everyone(302)}),
    "/home": Route("GET", signed_in(200)),
    "/healthz": Route("GET", everyone(200)),
    "/login": Route("GET", {**everyone(302), "anonymous": 200}),
    "/logout": Route("POST", signed_in(302)),
    "/account/password": Route("GET", signed_in(200)),
    "/admin/audit/": Route("GET", admin_only()),
    "/admin/audit/verify": Route("POST", admin_only(302)),
    "/admin/settings/": Route("GET", admin_only()),
    "/reminders/": Route("GET", staff_only()),
    # ---- organization and places (ids of community A; B is out of the users' scope) -----
    "/admin/org": Route("GET", admin_only()),
    "/admin/org/<tree>/<int:node_id>/children": Route(
        "GET", admin_only(), lambda w: _node(w, "place", "grid")
    ),
    "/admin/org/<tree>/<int:node_id>/row": Route(
        "GET", admin_only(302), lambda w: _node(w, "org", "branch")
    ),
    "/admin/org/<tree>/<int:node_id>/name": Route(
        "GET", admin_only(302), lambda w: _node(w, "org", "branch")
    ),
    "/admin/org/<tree>/<int:node_id>/counts": Route(
        "GET", admin_only(), lambda w: _node(w, "place", "grid")
    ),
    "/admin/org/<tree>/<int:node_id>": Route(
        "GET", admin_only(), lambda w: _node(w, "org", "committee")
    ),
    "/admin/org/<tree>/<int:node_id>/move": Route(
        "POST", admin_only(422), lambda w: _node(w, "place", "grid")
    ),
    "/admin/org/<tree>/<int:node_id>/retire": Route(
        "POST", admin_only(422), lambda w: _node(w, "place", "grid")
    ),
    "/admin/org/<tree>/<int:node_id>/delete": Route(
        "POST", admin_only(422), lambda w: _node(w, "place", "grid")
    ),
    "/admin/org/place/<int:node_id>/group": Route(
        "POST", admin_only(303), lambda w: {"node_id": w["a"]["b2"].id}
    ),
    "/admin/org/place/<int:node_id>/workers": Route(
        "POST", admin_only(422), lambda w: {"node_id": w["a"]["grid"].id}
    ),
    "/admin/org/place/<int:node_id>/workers/<int:user_id>/remove": Route(
        "POST",
        admin_only(303),
        lambda w: {"node_id": w["a"]["grid"].id, "user_id": w["users"]["staff"].id},
    ),
    "/admin/org/import": Route("GET", admin_only()),
    "/admin/org/import/<token>": Route("POST", admin_only(404), lambda w: {"token": "x" * 32}),
    "/admin/org/import/<token>/rejected.xlsx": Route(
        "GET", admin_only(404), lambda w: {"token": "x" * 32}
    ),
    "/places": Route("GET", staff_only()),
    "/places/<int:place_id>": Route("GET", staff_only(), lambda w: {"place_id": w["a"]["grid"].id}),
    "/places/<int:place_id>/counts": Route(
        "GET", staff_only(), lambda w: {"place_id": w["a"]["b1"].id}
    ),
    "/places/export.xlsx": Route("GET", staff_only()),
    "/admin/users/": Route("GET", admin_only()),
    "/admin/users/new": Route("GET", admin_only()),
    "/admin/users/<int:user_id>": Route(
        "GET", admin_only(), lambda w: {"user_id": w["users"]["staff"].id}
    ),
    "/admin/users/<int:user_id>/password": Route(
        "POST", admin_only(), lambda w: {"user_id": w["users"]["grid_worker"].id}
    ),
    "/admin/users/<int:user_id>/active": Route(
        "POST", admin_only(303), lambda w: {"user_id": w["users"]["grid_worker"].id}
    ),
    "/admin/users/<int:user_id>/scopes": Route(
        "POST", admin_only(422), lambda w: {"user_id": w["users"]["staff"].id}
    ),
    "/admin/users/<int:user_id>/scopes/<int:scope_id>/remove": Route(
        "POST",
        admin_only(303),
        lambda w: {"user_id": w["users"]["staff"].id, "scope_id": w["staff_scope"].id},
    ),
    "/admin/users/<int:user_id>/grids": Route(
        "POST", admin_only(422), lambda w: {"user_id": w["users"]["staff"].id}
    ),
    "/admin/users/<int:user_id>/grids/<int:grid_id>/remove": Route(
        "POST",
        admin_only(303),
        lambda w: {"user_id": w["users"]["grid_worker"].id, "grid_id": w["a"]["grid"].id},
    ),
    # ---- member registry (member_a lives in community A, member_b in B) ------------------
    "/members/": Route("GET", staff_only()),
    "/members/<int:member_id>": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/members/<int:member_id>/edit": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/members/<int:member_id>/category": Route("POST", staff_only(422), lambda w: _member(w, "a")),
    "/members/validate/<field>": Route("POST", staff_only(), lambda w: {"field": "phone"}),
    "/members/<int:member_id>/reveal": Route(
        "POST",
        {**staff_only(403), "admin": 200},
        lambda w: _member(w, "a"),
    ),
    "/members/import": Route("GET", staff_only()),
    "/members/import/<token>": Route("POST", staff_only(404), lambda w: {"token": "x" * 32}),
    "/members/import/<token>/rejected.xlsx": Route(
        "GET", staff_only(404), lambda w: {"token": "x" * 32}
    ),
    "/members/export.xlsx": Route("GET", staff_only()),
    "/members/counts": Route("GET", staff_only()),
    # ---- statistics dashboard --------------------------------------------------------------
    "/stats/": Route("GET", staff_only()),
    "/stats/export.xlsx": Route("GET", staff_only()),
    # ---- registration (public pages, the member's own page, the staff review queue) -------
    "/register": Route("GET", everyone(200)),
    "/register/<kind>": Route("GET", everyone(200), lambda w: {"kind": "flow_in"}),
    "/register/validate/<field>": Route("POST", everyone(200), lambda w: {"field": "phone"}),
    "/register/buildings": Route("POST", everyone(200)),
    "/register/done": Route("GET", everyone(302)),
    "/register/status": Route("GET", everyone(200)),
    "/register/correct": Route("GET", everyone(302)),
    "/register/receipt": Route("GET", everyone(302)),
    "/register/receipt.pdf": Route("GET", everyone(302)),
    "/register/mine": Route("GET", {**staff_only(403), "member": 200}),
    "/register/mine/flow-out": Route("GET", {**staff_only(403), "member": 302}),
    "/registrations/": Route("GET", staff_only()),
    "/registrations/pending-count": Route("GET", staff_only()),
    "/registrations/<int:registration_id>": Route(
        "GET", staff_only(), lambda w: _registration(w, "a")
    ),
    "/registrations/<int:registration_id>/decide": Route(
        "POST", staff_only(422), lambda w: _registration(w, "a"), lambda w: {"action": "reject"}
    ),
    # Discarding another submission without the required reason: refused, nothing written.
    "/registrations/<int:registration_id>/submissions/<int:submission_id>": Route(
        "POST", staff_only(422), lambda w: _submission(w, "a"), lambda w: {"action": "discard"}
    ),
    "/registrations/bulk": Route("POST", staff_only(422), data=lambda w: {"action": "approve"}),
    "/registrations/poster": Route("GET", staff_only()),
    # ---- assignment (member_a is already in its building's group: placing it is a no-op) ---
    "/assignment/": Route("GET", staff_only()),
    "/assignment/counts": Route("GET", staff_only()),
    "/assignment/buildings": Route("GET", staff_only()),
    "/assignment/members/<int:member_id>": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/assignment/members/<int:member_id>/place": Route(
        "POST",
        staff_only(303),
        lambda w: _member(w, "a"),
        lambda w: {"version": str(w["members"]["a"].version), "org_mode": "auto"},
    ),
    "/assignment/members/<int:member_id>/liaison-candidates": Route(
        "POST", staff_only(), lambda w: _member(w, "a")
    ),
    "/assignment/members/<int:member_id>/liaison": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/assignment/mine": Route("GET", {**signed_in(200), "member": 302}),
    "/assignment/bulk": Route("GET", staff_only()),
    "/assignment/bulk/preview": Route("POST", staff_only()),
    "/assignment/bulk/apply": Route("POST", staff_only(422)),
    # ---- certificates and documents (cert/letter "a" in scope, "b" outside) ---------------
    "/certificates/": Route("GET", staff_only()),
    "/certificates/issue/<int:member_id>": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/certificates/record/<int:member_id>": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/certificates/<int:cert_id>": Route("GET", staff_only(), lambda w: _cert(w, "a")),
    "/certificates/<int:cert_id>/check": Route("POST", staff_only(422), lambda w: _cert(w, "a")),
    "/certificates/<int:cert_id>/close": Route("POST", staff_only(422), lambda w: _cert(w, "a")),
    "/certificates/<int:cert_id>/renew": Route("POST", staff_only(303), lambda w: _cert(w, "a")),
    "/certificates/<int:cert_id>/reissue": Route("POST", staff_only(422), lambda w: _cert(w, "a")),
    "/certificates/<int:cert_id>/pdf": Route("GET", staff_only(), lambda w: _cert(w, "a")),
    "/certificates/liaisons-review": Route("GET", staff_only()),
    "/certificates/register": Route("GET", staff_only()),
    "/certificates/register.xlsx": Route("GET", staff_only()),
    "/certificates/member/<int:member_id>": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/certificates/member/<int:member_id>/contact-card.pdf": Route(
        "GET", staff_only(), lambda w: _member(w, "a")
    ),
    "/certificates/member/<int:member_id>/feedback.pdf": Route(
        "GET", staff_only(), lambda w: _member(w, "a")
    ),
    "/certificates/member/<int:member_id>/transfer": Route(
        "GET", staff_only(), lambda w: _member(w, "a")
    ),
    "/certificates/transfer/<int:letter_id>": Route("GET", staff_only(), lambda w: _letter(w, "a")),
    "/certificates/transfer/<int:letter_id>/pdf": Route(
        "GET", staff_only(), lambda w: _letter(w, "a")
    ),
    "/certificates/member/<int:member_id>/received": Route(
        "GET", staff_only(), lambda w: _member(w, "a")
    ),
    "/certificates/received/<int:received_id>": Route(
        "GET", staff_only(), lambda w: _received(w, "a")
    ),
    "/certificates/received/<int:received_id>/reply.pdf": Route(
        "GET", staff_only(), lambda w: _received(w, "a")
    ),
    "/certificates/roster.pdf": Route("GET", staff_only()),
    "/work/": Route("GET", staff_only()),
    "/takeover/": Route("GET", staff_only()),
    "/assessment/": Route("GET", staff_only()),
    "/assessment/branches/<int:branch_id>": Route(
        "GET", _org_staff(200), lambda w: _branch(w, "a")
    ),
    "/assessment/branches/<int:branch_id>.xlsx": Route(
        "GET", _org_staff(200), lambda w: _branch(w, "a")
    ),
    "/assessment/branches/<int:branch_id>.pdf": Route(
        "GET", _org_staff(200), lambda w: _branch(w, "a")
    ),
    "/takeover/jobs": Route("GET", staff_only()),
    "/takeover/jobs/new": Route("GET", staff_only()),
    "/takeover/member/<int:member_id>": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/takeover/member/<int:member_id>/pledge.pdf": Route(
        "GET", staff_only(), lambda w: _member(w, "a")
    ),
    "/takeover/member/<int:member_id>/training": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/takeover/member/<int:member_id>/referral": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/takeover/member/<int:member_id>/evidence": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/takeover/referrals/<int:referral_id>/outcome": Route(
        "POST", staff_only(422), lambda w: _referral(w, "a")
    ),
    "/certificates/batch": Route("POST", staff_only(303)),  # no kind chosen: back to the page
    "/certificates/jobs/<token>": Route(
        "GET", {**staff_only(), "grid_worker": 404}, lambda w: {"token": w["print_job"].token}
    ),
    "/certificates/jobs/<token>/cancel": Route(
        "POST", {**staff_only(303), "grid_worker": 404}, lambda w: {"token": w["print_job"].token}
    ),
    "/certificates/jobs/<token>/download": Route(
        "GET", staff_only(404), lambda w: {"token": w["print_job"].token}
    ),
    "/verify/<token>": Route("GET", everyone(200), lambda w: _verify_token(w)),
    # ---- follow-up work lists, part 1 --------------------------------------------------------
    "/followup/": Route("GET", staff_only()),
    "/followup/thought-reports": Route("GET", staff_only()),
    "/followup/contacts": Route("GET", staff_only()),
    "/followup/alerts": Route("GET", staff_only()),
    "/followup/events": Route("GET", staff_only()),
    "/followup/events/new": Route("GET", staff_only()),
    # Events belong to the org tree: a grid worker (scope = grids) sees none of them.
    "/followup/events/<int:event_id>": Route("GET", _org_staff(200), lambda w: _event(w, "a")),
    "/followup/events/<int:event_id>/edit": Route("GET", _org_staff(200), lambda w: _event(w, "a")),
    "/followup/events/<int:event_id>/attendance": Route(
        "POST", _org_staff(303), lambda w: _event(w, "a")
    ),
    "/followup/events/<int:event_id>/delete": Route(
        "POST", _org_staff(303), lambda w: _event(w, "a_delete")
    ),
    "/followup/members/<int:member_id>": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/followup/members/<int:member_id>/thought-reports": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/followup/members/<int:member_id>/contacts": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/followup/mine": Route("GET", {**staff_only(403), "member": 200}),
    # ---- end follow-up part 1 ----------------------------------------------------------------
    # ---- follow-up: dues, lost-contact cases, appraisal ---------------------------------------
    "/followup/dues": Route("GET", staff_only()),
    "/followup/dues/export.xlsx": Route("GET", staff_only()),
    "/followup/dues/members/<int:member_id>": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/followup/dues/members/<int:member_id>/standard": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/followup/dues/members/<int:member_id>/payments": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/followup/dues/members/<int:member_id>/payers": Route(
        "POST", staff_only(), lambda w: _member(w, "a")
    ),
    "/followup/lost": Route("GET", staff_only()),
    "/followup/lost/proposals": Route("GET", staff_only()),
    "/followup/lost/proposals/count": Route("GET", staff_only()),
    "/followup/lost/open/<int:member_id>": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/followup/lost/<int:case_id>": Route("GET", staff_only(), lambda w: _lost_case(w, "a")),
    "/followup/lost/<int:case_id>/attempts": Route(
        "POST", staff_only(422), lambda w: _lost_case(w, "a")
    ),
    "/followup/lost/<int:case_id>/stage": Route(
        "POST", staff_only(422), lambda w: _lost_case(w, "a")
    ),
    "/followup/lost/<int:case_id>/close": Route(
        "POST", staff_only(422), lambda w: _lost_case(w, "a")
    ),
    "/followup/appraisal": Route("GET", staff_only()),
    # Branches are org nodes: a grid worker (scope = grids) has none of them.
    "/followup/appraisal/branches/<int:branch_id>": Route(
        "GET", {**staff_only(200), "grid_worker": 404}, lambda w: _branch(w, "a")
    ),
    # ---- end follow-up: dues, lost-contact cases, appraisal -----------------------------------
    # ---- member self-service (the matrix's member user has no linked record: 404 for ids) ---
    "/my/profile": Route("GET", {**staff_only(403), "member": 200}),
    "/my/profile/reveal": Route("POST", {**staff_only(403), "member": 404}),
    "/my/requests/<int:request_id>/cancel": Route(
        "POST", {**staff_only(403), "member": 404}, lambda w: _change_request(w, "a")
    ),
    "/my/documents": Route("GET", {**staff_only(403), "member": 200}),
    "/my/documents/certificate/<int:cert_id>.pdf": Route(
        "GET", {**staff_only(403), "member": 404}, lambda w: _cert(w, "a")
    ),
    "/my/documents/transfer/<int:letter_id>.pdf": Route(
        "GET", {**staff_only(403), "member": 404}, lambda w: _letter(w, "a")
    ),
    "/selfservice/requests": Route("GET", staff_only()),
    "/selfservice/requests/count": Route("GET", staff_only()),
    "/selfservice/requests/<int:request_id>/decide": Route(
        "POST",
        staff_only(422),  # rejecting without a reason
        lambda w: _change_request(w, "a"),
        lambda w: {"action": "reject"},
    ),
    "/selfservice/requests/bulk": Route(
        "POST", staff_only(422), data=lambda w: {"action": "approve"}
    ),
    # ---- end member self-service ---------------------------------------------------------
    # ---- 共管 (app/care) and 协管 (app/mobile) ----------------------------------------------
    "/care/visits": Route("GET", staff_only()),
    "/care/veterans": Route("GET", staff_only()),
    "/care/veterans.pdf": Route("GET", staff_only()),
    "/care/member/<int:member_id>": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/care/member/<int:member_id>/plan": Route(
        "POST", staff_only(422), lambda w: _member(w, "a"), lambda w: {"health": "x"}
    ),
    "/care/member/<int:member_id>/visit": Route("POST", staff_only(422), lambda w: _member(w, "a")),
    "/care/member/<int:member_id>/event": Route("POST", staff_only(422), lambda w: _member(w, "a")),
    "/mobile/": Route("GET", staff_only()),
    "/mobile/member/<int:member_id>": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/mobile/member/<int:member_id>/contact": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/mobile/member/<int:member_id>/letter.pdf": Route(
        "GET",
        staff_only(422),
        lambda w: _member(w, "a"),  # no period given
    ),
    "/mobile/stations": Route("GET", staff_only()),
    "/mobile/stations/<int:station_id>": Route(
        "GET", _org_staff(200), lambda w: {"station_id": w["stations"]["a"].id}
    ),
    "/mobile/stations/<int:station_id>/members": Route(
        "POST", _org_staff(422), lambda w: {"station_id": w["stations"]["a"].id}
    ),
    "/mobile/ledger": Route("GET", staff_only()),
    "/mobile/ledger.xlsx": Route("GET", staff_only()),
    "/mobile/ledger.pdf": Route("GET", staff_only()),
    # ---- 直管: posts, 责任区, 责任卡, 结对帮扶, 争五好 (app/direct) ---------------------------------
    "/direct/posts": Route("GET", staff_only()),
    "/direct/posts/seed": Route("POST", staff_only(303)),
    # Posts belong to a community: a grid worker (scope = grids) sees none of them.
    "/direct/posts/<int:post_id>": Route(
        "GET", {**staff_only(200), "grid_worker": 404}, lambda w: _direct(w, "a", "post_id")
    ),
    "/direct/members/<int:member_id>": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/direct/members/<int:member_id>/posts": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/direct/members/<int:member_id>/pairs": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/direct/members/<int:member_id>/reviews": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/direct/assignments": Route("GET", staff_only()),
    # Deciding a post that is already active: a conflict, nothing written.
    "/direct/assignments/<int:assignment_id>/decide": Route(
        "POST", staff_only(409), lambda w: _direct(w, "a", "assignment_id")
    ),
    "/direct/assignments/<int:assignment_id>/end": Route(
        "POST", staff_only(422), lambda w: _direct(w, "a", "assignment_id")
    ),
    "/direct/assignments/<int:assignment_id>/card.pdf": Route(
        "GET", staff_only(), lambda w: _direct(w, "a", "assignment_id")
    ),
    "/direct/pairs": Route("GET", staff_only()),
    "/direct/pairs/<int:pair_id>": Route("GET", staff_only(), lambda w: _direct(w, "a", "pair_id")),
    "/direct/pairs/<int:pair_id>/visits": Route(
        "POST", staff_only(422), lambda w: _direct(w, "a", "pair_id")
    ),
    "/direct/pairs/<int:pair_id>/end": Route(
        "POST", staff_only(422), lambda w: _direct(w, "a", "pair_id")
    ),
    "/direct/pairs/<int:pair_id>/reveal": Route(
        "POST", staff_only(), lambda w: _direct(w, "a", "pair_id")
    ),
    "/direct/reviews": Route("GET", staff_only()),
    "/verify/duty/<token>": Route("GET", everyone(200), lambda w: _duty_token(w)),
    "/my/duties": Route("GET", {**staff_only(403), "member": 200}),
    # ---- end 直管 -------------------------------------------------------------------------------
    # ---- 双管 (app/dual) ------------------------------------------------------------------
    "/dual/needs": Route("GET", staff_only()),
    "/dual/needs/new": Route("GET", staff_only()),
    "/dual/needs/<int:need_id>": Route("GET", staff_only(), lambda w: _need(w, "a")),
    "/dual/needs/<int:need_id>/qr": Route("GET", staff_only(), lambda w: _need(w, "a")),
    "/dual/needs/<int:need_id>/close": Route("POST", staff_only(303), lambda w: _need(w, "a")),
    "/dual/services": Route("GET", staff_only()),
    "/dual/services/<int:service_id>/confirm": Route(
        "POST", staff_only(303), lambda w: _service(w, "a")
    ),
    "/dual/services/<int:service_id>/reject": Route(
        "POST", staff_only(303), lambda w: _service(w, "a2")
    ),
    "/dual/members/<int:member_id>": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/dual/members/<int:member_id>/opinions": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/dual/members/<int:member_id>/feedback": Route("GET", staff_only(), lambda w: _member(w, "a")),
    "/dual/members/<int:member_id>/feedback/sent": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/dual/members/<int:member_id>/feedback/returned": Route(
        "POST", staff_only(422), lambda w: _member(w, "a")
    ),
    "/dual/members/<int:member_id>/feedback.pdf": Route(
        "GET", staff_only(), lambda w: _member(w, "a")
    ),
    "/dual/feedback": Route("GET", staff_only()),
    "/dual/feedback/employer.pdf": Route("GET", staff_only(404)),  # no work unit named
    "/dual/notice": Route("GET", staff_only()),
    "/dual/notice.xlsx": Route("GET", staff_only(404)),
    "/dual/notice.pdf": Route("GET", staff_only(404)),
    "/dual/opinions": Route("GET", staff_only()),
    "/dual/opinions/<int:opinion_id>": Route("GET", staff_only(), lambda w: _opinion(w, "a")),
    "/dual/opinions/<int:opinion_id>/reply.pdf": Route(
        "GET", staff_only(), lambda w: _opinion(w, "a")
    ),
    # the matrix's member login has no linked record: its pages answer 404 for ids
    "/dual/mine": Route("GET", {**staff_only(403), "member": 200}),
    "/dual/mine/needs/<int:need_id>/claim": Route(
        "POST", {**staff_only(403), "member": 404}, lambda w: _need(w, "a")
    ),
    "/dual/mine/needs/<int:need_id>/withdraw": Route(
        "POST", {**staff_only(403), "member": 404}, lambda w: _need(w, "a")
    ),
    "/dual/signin": Route("GET", {**staff_only(403), "member": 404}),
    # ---- end 双管 --------------------------------------------------------------------------
}

# Ids of community B: staff and grid workers scoped to A get 404 for each, as for a missing id.
OUT_OF_SCOPE: list[tuple[str, Callable[[dict], dict]]] = [
    ("/direct/members/<int:member_id>", lambda w: _member(w, "b")),
    (
        "/direct/assignments/<int:assignment_id>/card.pdf",
        lambda w: _direct(w, "b", "assignment_id"),
    ),
    ("/direct/pairs/<int:pair_id>", lambda w: _direct(w, "b", "pair_id")),
    ("/direct/posts/<int:post_id>", lambda w: _direct(w, "b", "post_id")),
    ("/followup/dues/members/<int:member_id>", lambda w: _member(w, "b")),
    ("/followup/lost/open/<int:member_id>", lambda w: _member(w, "b")),
    ("/followup/lost/<int:case_id>", lambda w: _lost_case(w, "b")),
    ("/followup/appraisal/branches/<int:branch_id>", lambda w: _branch(w, "b")),
    ("/certificates/<int:cert_id>", lambda w: _cert(w, "b")),
    ("/certificates/<int:cert_id>/pdf", lambda w: _cert(w, "b")),
    ("/certificates/issue/<int:member_id>", lambda w: _member(w, "b")),
    ("/certificates/member/<int:member_id>", lambda w: _member(w, "b")),
    ("/certificates/member/<int:member_id>/contact-card.pdf", lambda w: _member(w, "b")),
    ("/certificates/member/<int:member_id>/feedback.pdf", lambda w: _member(w, "b")),
    ("/certificates/transfer/<int:letter_id>", lambda w: _letter(w, "b")),
    ("/certificates/transfer/<int:letter_id>/pdf", lambda w: _letter(w, "b")),
    ("/certificates/member/<int:member_id>/received", lambda w: _member(w, "b")),
    ("/takeover/member/<int:member_id>", lambda w: _member(w, "b")),
    ("/assessment/branches/<int:branch_id>", lambda w: _branch(w, "b")),
    ("/assessment/branches/<int:branch_id>.pdf", lambda w: _branch(w, "b")),
    ("/takeover/member/<int:member_id>/pledge.pdf", lambda w: _member(w, "b")),
    ("/certificates/received/<int:received_id>", lambda w: _received(w, "b")),
    ("/certificates/received/<int:received_id>/reply.pdf", lambda w: _received(w, "b")),
    ("/certificates/<int:cert_id>", lambda w: {"cert_id": 987654}),
    ("/places/<int:place_id>", lambda w: {"place_id": w["b"]["community"].id}),
    ("/places/<int:place_id>", lambda w: {"place_id": w["b"]["grid"].id}),
    ("/places/<int:place_id>", lambda w: {"place_id": w["b"]["b1"].id}),
    ("/places/<int:place_id>", lambda w: {"place_id": 987654}),
    ("/places/<int:place_id>/counts", lambda w: {"place_id": w["b"]["grid"].id}),
    ("/places/<int:place_id>/counts", lambda w: {"place_id": w["b"]["b2"].id}),
    ("/members/<int:member_id>", lambda w: _member(w, "b")),
    ("/members/<int:member_id>/edit", lambda w: _member(w, "b")),
    ("/members/<int:member_id>", lambda w: {"member_id": 987654}),
    ("/registrations/<int:registration_id>", lambda w: _registration(w, "b")),
    ("/registrations/<int:registration_id>", lambda w: {"registration_id": 987654}),
    ("/assignment/members/<int:member_id>", lambda w: _member(w, "b")),
    ("/followup/events/<int:event_id>", lambda w: _event(w, "b")),
    ("/followup/events/<int:event_id>/edit", lambda w: _event(w, "b")),
    ("/followup/events/<int:event_id>", lambda w: {"event_id": 987654}),
    ("/followup/members/<int:member_id>", lambda w: _member(w, "b")),
    ("/care/member/<int:member_id>", lambda w: _member(w, "b")),
    ("/mobile/member/<int:member_id>", lambda w: _member(w, "b")),
    ("/mobile/member/<int:member_id>/letter.pdf", lambda w: _member(w, "b")),
    ("/mobile/stations/<int:station_id>", lambda w: {"station_id": w["stations"]["b"].id}),
    ("/dual/needs/<int:need_id>", lambda w: _need(w, "b")),
    ("/dual/needs/<int:need_id>/qr", lambda w: _need(w, "b")),
    ("/dual/members/<int:member_id>", lambda w: _member(w, "b")),
    ("/dual/members/<int:member_id>/feedback", lambda w: _member(w, "b")),
    ("/dual/members/<int:member_id>/feedback.pdf", lambda w: _member(w, "b")),
    ("/dual/opinions/<int:opinion_id>", lambda w: _opinion(w, "b")),
    ("/dual/opinions/<int:opinion_id>/reply.pdf", lambda w: _opinion(w, "b")),
]


def _need(world: dict, part: str) -> dict:
    """A service post of community ``part`` with free places, made once."""
    from app.dual.models import Need
    from app.extensions import db

    needs = world.setdefault("dual_needs", {})
    if part not in needs:
        needs[part] = Need(community_id=world[part]["community"].id, title="服务岗", places=2)
        db.session.add(needs[part])
        db.session.commit()
    return {"need_id": needs[part].id}


def _service(world: dict, part: str) -> dict:
    """A pending service record of member ``part[0]`` ("a", "a2", "b"), made once."""
    from app.dual.models import Service
    from app.extensions import db

    records = world.setdefault("dual_services", {})
    if part not in records:
        records[part] = Service(
            member_id=world["members"][part[0]].id,
            served_on=date(2026, 1, 5),
            minutes=60,
            content="楼道清扫",
            source="member",
        )
        db.session.add(records[part])
        db.session.commit()
    return {"service_id": records[part].id}


def _opinion(world: dict, part: str) -> dict:
    from app.dual.models import OpinionRequest
    from app.extensions import db

    rows = world.setdefault("dual_opinions", {})
    if part not in rows:
        rows[part] = OpinionRequest(
            member_id=world["members"][part].id,
            employer="市教育局",
            purpose="提拔考察",
            requested_on=date(2026, 1, 5),
        )
        db.session.add(rows[part])
        db.session.commit()
    return {"opinion_id": rows[part].id}


def _lost_case(world: dict, part: str) -> dict:
    """An open lost-contact case of a second member of community ``part``, made once."""
    from app.extensions import db
    from app.followup.models import LostContactCase
    from app.members.services import create_member
    from tests.members.conftest import id_number

    cases = world.setdefault("lost_cases", {})
    if part not in cases:
        n = 3 if part == "a" else 4
        member = create_member(
            {
                "name": f"{part}失联党员",
                "id_number": id_number(date(1971, 3, n), n),
                "building_id": world[part]["b1"].id,
                "group_id": world[part]["group"].id,
            },
            None,
        )
        cases[part] = LostContactCase(
            member_id=member.id, kind="roster", since=date(2024, 1, 1), opened_on=date(2025, 1, 1)
        )
        db.session.add(cases[part])
        db.session.commit()
    return {"case_id": cases[part].id}


def _branch(world: dict, part: str) -> dict:
    return {"branch_id": world[part]["branch"].id}


def _event(world: dict, part: str) -> dict:
    """An org-life event of community A's branch ("a", "a_delete") or B's ("b"), made once."""
    from app.extensions import db
    from app.followup.models import OrgEvent

    events = world.setdefault("events", {})
    if part not in events:
        branch = world[part[0]]["branch"]
        events[part] = OrgEvent(
            org_id=branch.id, kind="party_class", held_on=date(2026, 1, 5), title="党课"
        )
        db.session.add(events[part])
        db.session.commit()
    return {"event_id": events[part].id}


def _registration(world: dict, part: str) -> dict:
    return {"registration_id": world["registrations"][part].id}


def _submission(world: dict, part: str) -> dict:
    """Another submission for the ID number of ``part``'s registration (another phone number),
    merged into it; made once."""
    from app.crypto import decrypt
    from app.extensions import db
    from app.registration.services import submit

    merged = world.setdefault("merged", {})
    registration = world["registrations"][part]
    if part not in merged:
        merged[part], _ = submit(
            "flow_in",
            {
                "name": f"{part}另一人",
                "id_number": decrypt(registration.id_number_enc),
                "phone": "13600000009",
                "community_id": registration.community_id,
                "sensitive_consent": True,
            },
            f"world-merged-{part}",
        )
        db.session.commit()
    return {"registration_id": registration.id, "submission_id": merged[part].id}


def _member(world: dict, part: str) -> dict:
    return {"member_id": world["members"][part].id}


def _change_request(world: dict, part: str) -> dict:
    """A pending change request of member ``part`` (made on first use)."""
    requests = world.setdefault("change_requests", {})
    if part not in requests:
        from app.extensions import db
        from app.members.models import ChangeRequest

        member = world["members"][part]
        requests[part] = ChangeRequest(
            member_id=member.id,
            changes={"fields": {"room": {"old": None, "new": "1单元101"}}},
        )
        db.session.add(requests[part])
        db.session.commit()
    return {"request_id": requests[part].id}


def _direct(world: dict, part: str, key: str) -> dict:
    """The seed's posts of ``part``'s community, an active post (责任区: building 1) and a
    结对帮扶 pair of ``part``'s member; made once."""
    from sqlalchemy import select

    from app.direct import services
    from app.direct.models import DutyPost
    from app.extensions import db

    made = world.setdefault("direct", {})
    if part not in made:
        member = world["members"][part]
        services.ensure_seed_posts(member.community_id)
        post = db.session.scalars(
            select(DutyPost).where(DutyPost.community_id == member.community_id)
        ).first()
        staff = world["users"]["admin"]
        assignment = services.assign_post(
            member,
            staff,
            post_id=post.id,
            starts_on=date(2028, 1, 1),
            ends_on=None,
            building_ids=[world[part]["b1"].id],
        )
        pair = services.create_pair(
            member,
            staff,
            {
                "helped_name": f"{part}帮扶对象",
                "building_id": world[part]["b1"].id,
                "need_kind": "elderly_alone",
                "starts_on": date(2028, 1, 1),
            },
        )
        db.session.commit()
        made[part] = {"post_id": post.id, "assignment_id": assignment.id, "pair_id": pair.id}
    return {key: made[part][key]}


def _duty_token(world: dict) -> dict:
    from app.direct import services
    from app.direct.models import PostAssignment
    from app.extensions import db

    assignment = db.session.get(
        PostAssignment, _direct(world, "a", "assignment_id")["assignment_id"]
    )
    return {"token": services.token_for(assignment)}


def _cert(world: dict, part: str) -> dict:
    return {"cert_id": world["certificates"][part].id}


def _letter(world: dict, part: str) -> dict:
    return {"letter_id": world["letters"][part].id}


def _referral(world: dict, part: str) -> dict:
    """A job referral of member ``part`` (made on first use)."""
    referrals = world.setdefault("referrals", {})
    if part not in referrals:
        from app.extensions import db
        from app.takeover.models import JobReferral

        referral = JobReferral(
            member_id=world["members"][part].id,
            employer="某单位",
            post="某岗位",
            referred_on=local_today(),
        )
        db.session.add(referral)
        db.session.commit()
        referrals[part] = referral
    return {"referral_id": referrals[part].id}


def _received(world: dict, part: str) -> dict:
    return {"received_id": world["received"][part].id}


def _verify_token(world: dict) -> dict:
    from app.certificates.signing import token_for

    return {"token": token_for(world["certificates"]["a"])}


def _world_certificates(world: dict) -> None:
    """A certificate and a transfer letter for member a (in scope) and b (outside), and a
    print job of the ``staff`` user."""
    from app.certificates.models import Certificate, PrintJob, ReceivedLetter, TransferLetter
    from app.extensions import db

    today = local_today()
    world["certificates"], world["letters"], world["received"] = {}, {}, {}
    for n, part in enumerate(("a", "b"), start=1):
        member = world["members"][part]
        cert = Certificate(
            number=f"W{n}-2026-0001",
            serial=f"world-serial-{part}-0123456789abcdef",
            short_code=f"WORLD00{n}",
            member_id=member.id,
            issuing_org_name="测试支部",
            issued_on=today,
            valid_until=add_months(today, 24),  # never date.replace: 29 February
            next_verification_due=add_months(today, 12),
        )
        letter = TransferLetter(
            number=f"JS-W{n}-2026-0001",
            member_id=member.id,
            to_org_name="接收党组织",
            from_org_name="测试支部",
            issued_on=today,
        )
        received = ReceivedLetter(
            number=f"RX-{n}",
            member_id=member.id,
            from_org_name="转出党组织",
            to_org_name="测试支部",
            received_on=today,
        )
        world["received"][part] = received
        db.session.add_all([cert, letter, received])
        world["certificates"][part], world["letters"][part] = cert, letter
    world["print_job"] = PrintJob(
        token="world-print-job-token",
        kind="roster",
        params={"ids": []},
        created_by_id=world["users"]["staff"].id,
    )
    db.session.add(world["print_job"])
    db.session.commit()


def _world_stations(world: dict) -> None:
    """A 流动党员管理站 of community A (in scope) and one of B (outside)."""
    from app.extensions import db
    from app.mobile.models import MobileStation

    world["stations"] = {
        part: MobileStation(
            community_id=world[part]["community"].id, name=f"{part}站", place="外地"
        )
        for part in ("a", "b")
    }
    db.session.add_all(world["stations"].values())
    db.session.commit()


def _node(world: dict, tree: str, key: str) -> dict:
    return {"tree": tree, "node_id": world["a"][key].id}


# The matrix runs on a frozen clock, on a leap day: "today" is 29 February (Beijing time).
FROZEN_NOW = datetime(2028, 2, 29, 2, 0)


@pytest.fixture
def frozen_clock():
    with freeze(FROZEN_NOW):
        yield FROZEN_NOW


@pytest.fixture
def world(app, make_user, frozen_clock):
    """Users of every role, and two communities: ``staff`` is scoped to community A's
    committee, ``grid_worker`` is A's grid worker; everything of B is out of their scope."""
    from app.extensions import db
    from tests.organization.factories import build_world, unlink_trees

    users = {role: make_user(role) for role in ROLES if role != "anonymous"}
    trees = build_world()
    staff_scope = appointments.add_scope(users["staff"], org_id=trees["a"]["committee"].id)
    appointments.appoint_grid_worker(trees["a"]["grid"], users["grid_worker"])
    appointments.appoint_grid_worker(trees["a"]["grid"], users["staff"])
    db.session.commit()
    members = _world_members(trees)
    registrations = _world_registrations(trees)
    objects = {
        "users": users,
        "staff_scope": staff_scope,
        "members": members,
        "registrations": registrations,
        **trees,
    }
    _world_certificates(objects)
    _world_stations(objects)
    yield objects
    unlink_trees()


def _world_members(trees: dict) -> dict:
    """One member in community A (in scope of staff and grid_worker) and one in B (outside)."""
    from app.extensions import db
    from app.members.services import create_member
    from tests.members.conftest import id_number

    members = {}
    for n, part in enumerate(("a", "b"), start=1):
        members[part] = create_member(
            {
                "name": f"{part}社区党员",
                "id_number": id_number(date(1970, 1, n), n),
                "phone": f"1380000000{n}",
                "building_id": trees[part]["b1"].id,
                "group_id": trees[part]["group"].id,
            },
            None,
        )
    db.session.commit()
    return members


def _world_registrations(trees: dict) -> dict:
    """One open registration in community A's grid (in scope) and one in B (outside)."""
    from app.extensions import db
    from app.registration.services import submit
    from tests.members.conftest import id_number

    registrations = {}
    for n, part in enumerate(("a", "b"), start=1):
        registrations[part], _ = submit(
            "flow_in",
            {
                "name": f"{part}报到人",
                "id_number": id_number(date(1980, 2, n), n),
                "phone": f"1370000000{n}",
                "community_id": trees[part]["community"].id,
                "grid_id": trees[part]["grid"].id,
                "building_id": trees[part]["b1"].id,
                "sensitive_consent": True,
            },
            f"world-{part}",
        )
    db.session.commit()
    return registrations


def _client_for(app, world, role):
    client = app.test_client()
    if role != "anonymous":
        user = world["users"][role]
        token = csrf_token(client, "/login")
        response = client.post(
            "/login",
            data={"username": user.username, "password": "Test-Passw0rd!", "csrf_token": token},
        )
        assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    return client


def _url(app, path: str, kwargs: dict) -> str:  # noqa: ANN001
    """The URL of the rule with this path."""
    from flask import url_for

    rule = next(r for r in app.url_map.iter_rules() if r.rule == path)
    with app.test_request_context():
        return url_for(rule.endpoint, **kwargs)


def test_every_route_is_declared(app):
    paths = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    missing = sorted(paths - set(ROUTES))
    stale = sorted(set(ROUTES) - paths)
    assert not missing, f"declare these routes in tests/test_access_matrix.py: {missing}"
    assert not stale, f"these declared routes no longer exist: {stale}"


@pytest.mark.parametrize("role", ROLES)
def test_route_role_matrix(app, world, role):
    client = _client_for(app, world, role)
    failures = []
    for path, route in ROUTES.items():
        url = _url(app, path, route.kwargs(world))
        if route.method == "GET":
            response = client.get(url)
        else:
            token = csrf_token(client, "/home" if role != "anonymous" else "/login")
            response = client.open(
                url, method=route.method, data={"csrf_token": token, **route.data(world)}
            )
        expected = route.expected[role]
        if response.status_code != expected:
            failures.append(
                f"{route.method} {url}: expected {expected}, got {response.status_code}"
            )
        assert response.status_code != 500
        if route.method != "GET" and role != "anonymous" and path == "/logout":
            client = _client_for(app, world, role)  # logging out ended this session
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ["staff", "grid_worker"])
def test_out_of_scope_ids_answer_404(app, world, role):
    client = _client_for(app, world, role)
    for path, kwargs in OUT_OF_SCOPE:
        url = _url(app, path, kwargs(world))
        assert client.get(url).status_code == 404, f"{role} could open {url}"


def test_every_state_changing_route_requires_csrf(app, world):
    """As an admin (the widest access), a POST without a CSRF token is refused with 400."""
    client = _client_for(app, world, "admin")
    checked = 0
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) - {"GET", "HEAD", "OPTIONS"}
        if rule.endpoint == "static" or not methods:
            continue
        route = ROUTES[rule.rule]
        url = _url(app, rule.rule, route.kwargs(world))
        for method in methods:
            response = client.open(url, method=method, data=route.data(world))
            assert response.status_code == 400, f"{method} {url} accepted a request without CSRF"
            assert "安全校验失败" in response.get_data(as_text=True)
            checked += 1
    assert checked >= 2  # at least login and logout


def test_anonymous_post_without_csrf_is_refused(client):
    response = client.post("/login", data={"username": "a", "password": "b"})
    assert response.status_code == 400


# ---- the generated matrix: every rule with an id × every method × another community / member --
#
# Generated from ``app.url_map``: each URL argument is built by the factory of its NAME, for an
# object of a given part of the world ("a": community A / member A, "b": community B / member
# B). Staff and grid workers of community A request B's objects; a member logged in as member B
# requests member A's. Each answer must be what a missing id gets — 404, or 403 where the role
# may not use the route at all — and nothing may be written. A new route with an argument that
# has no factory fails ``test_every_url_argument_has_a_factory``.

MISSING_ID = 2_147_483_000  # a valid int no table holds
# Arguments that name no object: a constant that makes the URL valid.
PLAIN_ARGS: dict[str, str] = {"tree": "place", "field": "phone", "kind": "flow_in"}
# Rules open to anyone by design, with the reason.
PUBLIC_RULES: dict[str, str] = {
    "/verify/<token>": "public check of a certificate's QR code; the token is the secret",
    "/verify/duty/<token>": "public check of a 责任卡's QR code; the token is the secret",
}
# (role, whose objects it requests): staff and grid workers of A ask for B's objects; member B
# (a member login linked to member B) asks for member A's.
FOREIGN = (("staff", "b"), ("grid_worker", "b"), ("member_b", "a"))


def _owner(world: dict, part: str):  # noqa: ANN202
    """A staff user of community ``part`` (owner of that part's print jobs and uploads)."""
    return world["users"]["staff"] if part == "a" else world["foreign"]["staff_b"]


def _token(world: dict, part: str, rule) -> str:  # noqa: ANN001
    """Tokens name different things: a print job, or an upload waiting for its confirm step."""
    from flask import current_app

    from app.spreadsheets import save_upload

    path = rule.rule
    if path.startswith("/certificates/jobs/"):
        return world["foreign"]["print_jobs"][part].token
    for prefix, key in (
        ("/members/import/", "ROSTER_IMPORT_DIR"),
        ("/admin/org/import/", "ORG_IMPORT_DIR"),
    ):
        if path.startswith(prefix):
            directory = current_app.config[key]
            return save_upload(directory, _owner(world, part).id, "x.xlsx", b"x", [], columns=[])
    pytest.fail(f"add a factory for <token> of {path} in tests/test_access_matrix.py")


FACTORIES: dict[str, Callable[[dict, str, object], object]] = {
    "node_id": lambda w, p, rule: _places(w, p),  # with tree="place"
    "user_id": lambda w, p, rule: _owner(w, p).id,
    "grid_id": lambda w, p, rule: w[p]["grid"].id,
    "scope_id": lambda w, p, rule: w["foreign"]["scopes"][p].id,
    "member_id": lambda w, p, rule: w["members"][p].id,
    "cert_id": lambda w, p, rule: w["certificates"][p].id,
    "letter_id": lambda w, p, rule: w["letters"][p].id,
    "branch_id": lambda w, p, rule: w[p]["branch"].id,
    "event_id": lambda w, p, rule: _event(w, p)["event_id"],
    "case_id": lambda w, p, rule: _lost_case(w, p)["case_id"],
    "request_id": lambda w, p, rule: _change_request(w, p)["request_id"],
    "place_id": lambda w, p, rule: _places(w, p),
    "registration_id": lambda w, p, rule: w["registrations"][p].id,
    "submission_id": lambda w, p, rule: _submission(w, p)["submission_id"],
    "received_id": lambda w, p, rule: w["received"][p].id,
    "referral_id": lambda w, p, rule: _referral(w, p)["referral_id"],
    "station_id": lambda w, p, rule: w["stations"][p].id,
    "token": _token,
    "post_id": lambda w, p, rule: _direct(w, p, "post_id")["post_id"],
    "assignment_id": lambda w, p, rule: _direct(w, p, "assignment_id")["assignment_id"],
    "pair_id": lambda w, p, rule: _direct(w, p, "pair_id")["pair_id"],
    "need_id": lambda w, p, rule: _need(w, p)["need_id"],
    "service_id": lambda w, p, rule: _service(w, p)["service_id"],
    "opinion_id": lambda w, p, rule: _opinion(w, p)["opinion_id"],
}


def _places(world: dict, part: str) -> list[int]:
    """A list: each value is tried (a community, its grid, a building of it)."""
    return [world[part][key].id for key in ("community", "grid", "b1")]


def _rules(app):  # noqa: ANN001, ANN202
    return sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule
    )


def _methods(rule) -> list[str]:  # noqa: ANN001
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def _id_rules(app):  # noqa: ANN001, ANN202
    """Rules with an argument naming an object (everything but PLAIN_ARGS)."""
    return [
        r for r in _rules(app) if set(r.arguments) - set(PLAIN_ARGS) and r.rule not in PUBLIC_RULES
    ]


def _build(app, rule, values: dict) -> str:  # noqa: ANN001
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _foreign_urls(app, world, rule, part: str) -> list[str]:  # noqa: ANN001
    """The rule's URLs for ``part``'s objects (a factory returning a list gives variants)."""
    import itertools

    choices = []
    for arg in sorted(rule.arguments):
        value = PLAIN_ARGS[arg] if arg in PLAIN_ARGS else FACTORIES[arg](world, part, rule)
        choices.append([(arg, v) for v in (value if isinstance(value, list) else [value])])
    return [_build(app, rule, dict(combo)) for combo in itertools.product(*choices)]


def _missing_url(app, rule) -> str:  # noqa: ANN001
    values = {}
    for arg in rule.arguments:
        if arg in PLAIN_ARGS:
            values[arg] = PLAIN_ARGS[arg]
        elif rule._converters[arg].regex.startswith(r"\d"):
            values[arg] = MISSING_ID
        else:
            values[arg] = "x" * 32
    return _build(app, rule, values)


def fingerprint() -> str:
    """A digest of every row of every table: any write changes it."""
    import hashlib

    from sqlalchemy import select

    from app.extensions import db

    digest = hashlib.sha256()
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            for row in conn.execute(select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.fixture
def foreign(app, world, make_user, tmp_path):
    """What the generated matrix adds to ``world``: member B's login, a staff user of B with
    a scope, print jobs of both communities, upload directories."""
    from app.certificates.models import PrintJob
    from app.extensions import db

    app.config["ROSTER_IMPORT_DIR"] = tmp_path / "roster"
    app.config["ORG_IMPORT_DIR"] = tmp_path / "org"
    staff_b = make_user("staff")
    scope_b = appointments.add_scope(staff_b, org_id=world["b"]["committee"].id)
    world["users"]["member_b"] = make_user("member", member_id=world["members"]["b"].id)
    world["foreign"] = {
        "staff_b": staff_b,
        "scopes": {"a": world["staff_scope"], "b": scope_b},
        "print_jobs": {"a": world["print_job"]},
    }
    world["foreign"]["print_jobs"]["b"] = PrintJob(
        token="world-print-job-of-b", kind="roster", params={"ids": []}, created_by_id=staff_b.id
    )
    db.session.add(world["foreign"]["print_jobs"]["b"])
    db.session.commit()
    for part in ("a", "b"):  # made now, so that requests do not create them
        _event(world, part)
        _lost_case(world, part)
        _change_request(world, part)
        _referral(world, part)
        _direct(world, part, "post_id")
        _need(world, part)
        _service(world, part)
        _opinion(world, part)
    return world


def test_every_url_argument_has_a_factory(app):
    for rule in _rules(app):
        for arg in sorted(rule.arguments):
            assert arg in FACTORIES or arg in PLAIN_ARGS or rule.rule in PUBLIC_RULES, (
                f"{rule.rule}: add a factory for <{arg}> in tests/test_access_matrix.py"
            )


@pytest.mark.parametrize(("role", "part"), FOREIGN)
def test_foreign_objects_answer_404_and_write_nothing(app, foreign, role, part):
    client = _client_for(app, foreign, role)
    token = csrf_token(client, "/home")
    failures, cases = [], 0
    for rule in _id_rules(app):
        missing = _missing_url(app, rule)
        for method in _methods(rule):
            data = {"csrf_token": token} if method != "GET" else None
            refused = client.open(missing, method=method, data=data).status_code
            expected = 403 if refused == 403 else 404
            if refused not in (403, 404):
                failures.append(f"{method} {missing} (no such id): {refused}")
            for url in _foreign_urls(app, foreign, rule, part):
                before = fingerprint()
                status = client.open(url, method=method, data=data).status_code
                cases += 1
                if status != expected:
                    failures.append(f"{method} {url} ({rule.endpoint}): {status}, not {expected}")
                if fingerprint() != before:
                    failures.append(f"{method} {url} ({rule.endpoint}) wrote to the database")
    print(f"{role}: {cases} foreign-object cases")
    assert cases >= 80
    assert not failures, "\n".join(failures)


HUGE_IDS = ("99999999999999999999999", "2147483648")  # beyond the database's integers
EVERY_LOGIN = (*ROLES, "member_b")


@pytest.mark.parametrize("role", EVERY_LOGIN)
def test_ids_too_large_for_the_database_answer_404(app, foreign, role):
    """Every ``<int:...>`` argument of every rule, too large for the database, with every
    method: 404 for every role (the bounded converter of app/params.py)."""
    client = _client_for(app, foreign, role)
    token = csrf_token(client, "/home" if role != "anonymous" else "/login")
    failures, cases = [], 0
    for rule in _rules(app):
        ints = [a for a in sorted(rule.arguments) if rule._converters[a].regex.startswith(r"\d")]
        for arg in ints:
            for huge in HUGE_IDS:
                values = {
                    a: PLAIN_ARGS[a] if a in PLAIN_ARGS else FACTORIES[a](foreign, "a", rule)
                    for a in rule.arguments
                }
                values = {a: v[0] if isinstance(v, list) else v for a, v in values.items()}
                url = _build(app, rule, {**values, arg: int(huge)})
                assert huge in url
                for method in _methods(rule):
                    data = {"csrf_token": token} if method != "GET" else None
                    status = client.open(url, method=method, data=data).status_code
                    cases += 1
                    if status != 404:
                        failures.append(f"{method} {url} ({rule.endpoint}): {status}")
    print(f"{role}: {cases} requests with huge ids")
    assert cases >= 100
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES)
def test_every_method_is_refused_like_the_declared_one(app, world, role):
    """ROUTES declares one method per rule; a rule's other methods (the POST of a GET form
    page) refuse a role exactly as the declared one does, and never answer 500."""
    client = _client_for(app, world, role)
    token = csrf_token(client, "/home" if role != "anonymous" else "/login")
    failures, cases = [], 0
    for rule in _rules(app):
        route = ROUTES[rule.rule]
        url = _url(app, rule.rule, route.kwargs(world))
        for method in set(_methods(rule)) - {route.method}:
            if rule.rule in ("/logout", "/login"):
                continue  # logging in or out changes the session the other cases use
            response = client.open(url, method=method, data={"csrf_token": token})
            cases += 1
            declared = route.expected[role]
            refused = declared in (403, 404) or (role == "anonymous" and declared == LOGIN)
            if refused and response.status_code != declared:
                failures.append(
                    f"{method} {url}: {response.status_code}, {route.method} {declared}"
                )
            if response.status_code >= 500:
                failures.append(f"{method} {url}: {response.status_code}")
    assert cases >= 20
    assert not failures, "\n".join(failures)
