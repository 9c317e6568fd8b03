"""Who did it and what it was about, in words, for a page of audit entries.

Each entry stores a user id and an object (type + id). The audit log shows the acting user's
name and username, and the object as a Chinese kind with a readable name where one exists
(a member's name masked as lists show it, a certificate's number, a place's or an org's name).
Names are looked up for the whole page at once: one query for the users and one per object kind
present on the page — never one per row. Rows the lookups do not find (deleted nodes, ids that
are not numbers) show the kind and the id only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Select, select

from app.audit.labels import OBJECT_LABELS
from app.audit.models import AuditEntry
from app.extensions import db
from app.security import mask_name

MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Actor:
    name: str  # display name, or the stored username when the account is gone
    username: str | None  # shown next to the name


@dataclass(frozen=True)
class ObjectRef:
    kind: str  # Chinese kind ("党员"), or the stored type when it has no label
    name: str | None  # readable name, None when none is known
    ident: str | None  # the stored id
    url: str | None = None


def _member_named(model) -> Callable[[list[int]], Select]:  # noqa: ANN001
    """Rows that belong to a member (a thought report, a case …) are named by the member."""
    from app.members.models import Member

    return lambda ids: (
        select(model.id, Member.name)
        .join(Member, Member.id == model.member_id)
        .where(model.id.in_(ids))
    )


def _resolvers() -> dict[str, tuple[Callable[[list[int]], Select], Callable]]:
    """object type → (query of (id, *columns) for a list of ids, row → readable name)."""
    from app.auth.models import User
    from app.certificates.jobs import KIND_LABELS
    from app.certificates.models import Certificate, PrintJob, TransferLetter
    from app.followup.models import (
        Appraisal,
        ContactLog,
        DuesPayment,
        LostContactCase,
        OrgEvent,
        OrgEventAttendance,
        ThoughtReport,
    )
    from app.members.models import ChangeRequest, Member
    from app.organization.models import Org, Place
    from app.registration.models import Registration

    def by_name(model, column) -> Callable[[list[int]], Select]:  # noqa: ANN001
        return lambda ids: select(model.id, column).where(model.id.in_(ids))

    def masked(row) -> str:  # noqa: ANN001
        return mask_name(row[1])

    def number(row) -> str:  # noqa: ANN001
        return f"编号 {row[1]}"

    def plain(row) -> str:  # noqa: ANN001
        return row[1]

    return {
        "user": (
            lambda ids: select(User.id, User.display_name, User.username).where(User.id.in_(ids)),
            lambda row: f"{row[1]}（{row[2]}）",
        ),
        "member": (by_name(Member, Member.name), masked),
        "registration": (by_name(Registration, Registration.name), masked),
        "certificate": (by_name(Certificate, Certificate.number), number),
        "transfer_letter": (by_name(TransferLetter, TransferLetter.number), number),
        "org": (by_name(Org, Org.name), plain),
        "place": (by_name(Place, Place.name), plain),
        "org_event": (by_name(OrgEvent, OrgEvent.title), plain),
        "print_job": (by_name(PrintJob, PrintJob.kind), lambda row: KIND_LABELS.get(row[1])),
        **{
            model.__tablename__: (_member_named(model), masked)
            for model in (
                ThoughtReport,
                ContactLog,
                DuesPayment,
                LostContactCase,
                ChangeRequest,
                Appraisal,
                OrgEventAttendance,
            )
        },
    }


def _setting_labels() -> dict[str, str]:
    from app.settings.editable import EDITABLE

    labels: dict[str, str] = {}
    for item in EDITABLE:
        labels.setdefault(item.key, item.label if item.part is None else item.section)
    return labels


def _int_id(value: str | None) -> int | None:
    if value and value.isdigit() and int(value) <= MAX_ID:
        return int(value)
    return None


def _url(object_type: str | None, ident: int | None) -> str | None:
    from flask import url_for

    if object_type == "member" and ident is not None:
        return url_for("members.card", member_id=ident)
    return None


def describe(entries: Iterable[AuditEntry]) -> tuple[dict[int, Actor], dict[int, ObjectRef]]:
    """Actors and objects of ``entries``, keyed by entry id (one query per kind on the page)."""
    from app.auth.models import User

    entries = list(entries)
    user_ids = {e.user_id for e in entries if e.user_id}
    users = {}
    if user_ids:
        users = {
            row.id: row
            for row in db.session.execute(
                select(User.id, User.display_name, User.username).where(User.id.in_(user_ids))
            )
        }
    actors = {}
    for e in entries:
        user = users.get(e.user_id)
        if user is not None:
            actors[e.id] = Actor(user.display_name, user.username)
        else:
            actors[e.id] = Actor(e.username or "—", None)

    wanted: dict[str, set[int]] = defaultdict(set)
    resolvers = _resolvers()
    for e in entries:
        ident = _int_id(e.object_id)
        if e.object_type in resolvers and ident is not None:
            wanted[e.object_type].add(ident)
    names: dict[tuple[str, int], str | None] = {}
    for object_type, ids in wanted.items():
        query, name_of = resolvers[object_type]
        for row in db.session.execute(query(sorted(ids))):
            names[(object_type, row[0])] = name_of(row)
    settings = _setting_labels() if any(e.object_type == "setting" for e in entries) else {}

    objects = {}
    for e in entries:
        if not e.object_type:
            continue
        ident = _int_id(e.object_id)
        if e.object_type == "setting":
            name = settings.get(e.object_id or "")
        else:
            name = names.get((e.object_type, ident)) if ident is not None else None
        objects[e.id] = ObjectRef(
            OBJECT_LABELS.get(e.object_type, e.object_type),
            name,
            e.object_id,
            _url(e.object_type, ident) if name else None,
        )
    return actors, objects
