"""SQLite query plans in tests: the statements a call executes, their plans, and the planner's
statistics of the reference-size demo (no wall-clock time is asserted: the plans are)."""

from __future__ import annotations

from sqlalchemy import event, text

from app.extensions import db


def statements(call) -> list[tuple[str, tuple]]:  # noqa: ANN001
    """The (SQL, parameters) of every statement ``call()`` executes."""
    seen = []

    def hook(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", hook)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", hook)
    return seen


def plan(statement: str, parameters) -> str:  # noqa: ANN001
    """SQLite's plan of one captured statement, one line per step."""
    rows = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
    return "\n".join(str(row[-1]) for row in rows)


# SQLite's statistics of the reference-size demo (``flask demo seed --size reference`` ends with
# ANALYZE): the plans are those of 100,000 members, not of the handful a test creates.
REFERENCE_STATISTICS = {
    "member": {
        "ix_member_branch_sort": "100000 333 2 1",
        "ix_member_branch_status": "100000 333 115",
        "ix_member_building": "100000 20",
        "ix_member_care_due": "100000 20000 3 3 1",
        "ix_member_category_building": "100000 20000 5 1 1",
        "ix_member_community_sort": "100000 3334 2 1",
        "ix_member_dashboard_pass": "100000 3334 1112 381 262 16 4 4 4 3 3 3",
        "ix_member_dues_behind": "100000 25000 14286 971 901",
        "ix_member_dues_standard": "100000 25000 14286 7693 2084 5 5 5",
        "ix_member_followup_counts": "100000 33334 11112 7693 318 302 10 1 1 1 1",
        "ix_member_grid_sort": "100000 200 1 1",
        "ix_member_group": "100000 100",
        "ix_member_id_last4_hash": "100000 10",
        "ix_member_id_status_category": "100000 1 1 1",
        "ix_member_name_first": "100000 663 3 1 1",
        "ix_member_name_initials": "100000 19",
        "ix_member_name_pinyin": "100000 4",
        "ix_member_name_two": "100000 9",
        "ix_member_phone_last4": "100000 10",
        "ix_member_probation": "100000 50000 5 2",
        "ix_member_sort": "100000 4 1",
        "ix_member_status_category": "100000 33334 11112",
        "ix_member_status_category_changed": "100000 33334 11112 5",
        "ix_member_status_community": "100000 33334 1112 371",
        "ix_member_status_dues": "100000 33334 2000",
        "ix_member_status_orglife_dues": "100000 33334 20000 1409",
        "sqlite_autoindex_member_1": "100000 1",
    },
    "org_event_attendance": {
        "ix_org_event_attendance_absent": "34622 8656 1",
        "ix_org_event_attendance_event": "316616 264 88",
        "ix_org_event_attendance_member": "316616 4 3 1",
        "sqlite_autoindex_org_event_attendance_1": "316616 264 1",
    },
    "member_history": {
        "ix_member_history_asof": "431191 86239 18 10 1",
        "ix_member_history_closed": "431191 86239 62 10 1",
        "ix_member_history_member": "431191 5 1 1",
    },
}


def reference_statistics() -> None:
    """Give SQLite's planner the reference size's statistics (then reload them)."""
    db.session.execute(text("ANALYZE"))
    for table, indexes in REFERENCE_STATISTICS.items():
        db.session.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = :t"), {"t": table})
        for index, stat in indexes.items():
            db.session.execute(
                text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (:t, :i, :s)"),
                {"t": table, "i": index, "s": stat},
            )
    db.session.commit()
    db.session.execute(text("ANALYZE sqlite_master"))  # reloads the statistics
