"""Import the structure (one row per building) from XLSX or CSV; export it in the same format.

``read_table`` turns an uploaded file into header-mapped rows (content checked, not the name;
zip-bomb guard; UTF-8 with or without BOM, else GBK). ``analyze`` classifies every row against
the database (create / update / unchanged / rejected with a reason per cell) without writing;
``analyze(..., apply=True)`` runs the very same walk and writes, so preview and commit agree.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.audit import record
from app.auth.models import User
from app.extensions import db
from app.members.identity import normalize_text
from app.organization.appointments import add_audited
from app.organization.models import GridWorker, Org, Place
from app.organization.services import ADDRESS_MAX, NAME_MAX
from app.spreadsheets import (  # noqa: F401  (re-exported: callers use importer.<name>)
    FORMULA_PREFIXES,
    IMPORT_STATUS_LABELS,
    MAX_BYTES,
    MAX_RATIO,
    MAX_UNCOMPRESSED,
    PREVIEW_MAX_AGE,
    TOKEN_RE,
    ImportFileError,
    ImportPreview,
    ImportRow,
    _cell_text,
    _check_zip,
    _decode_csv,
    clean_cell,
    escape_cell,
    load_upload,
    mark_committed,
    read_table,
    save_upload,
    write_xlsx,
)
from app.spreadsheets import map_header as _map_header

COLUMNS = {
    "community": "社区",
    "grid": "网格",
    "building": "楼栋",
    "address": "地址",
    "branch": "所在支部",
    "group": "所在党小组",
    "worker": "网格员",
}
REQUIRED = ("community", "grid", "building")
SYNONYMS = {
    "社区": "community",
    "社区名称": "community",
    "所属社区": "community",
    "所在社区": "community",
    "网格": "grid",
    "网格名称": "grid",
    "所属网格": "grid",
    "所在网格": "grid",
    "楼栋": "building",
    "楼栋名称": "building",
    "楼号": "building",
    "楼栋号": "building",
    "楼宇": "building",
    "地址": "address",
    "楼栋地址": "address",
    "详细地址": "address",
    "所在支部": "branch",
    "支部": "branch",
    "党支部": "branch",
    "支部名称": "branch",
    "所属支部": "branch",
    "所在党小组": "group",
    "党小组": "group",
    "楼栋党小组": "group",
    "党小组名称": "group",
    "网格员": "worker",
    "网格员账号": "worker",
    "网格员用户名": "worker",
}
STATUS_LABELS = IMPORT_STATUS_LABELS
MAX_ROWS = 50_000
DEFAULT_STREET = "街道党工委"


def map_header(cells: list[str]) -> dict[int, str]:
    return _map_header(cells, SYNONYMS)


def parse_rows(table: list[list[str]]) -> list[dict]:
    """Header-mapped rows: ``[{"line": 2, "values": {...}}, ...]`` (line numbers as in the file)."""
    header_at = next((i for i, row in enumerate(table) if any(clean_cell(c) for c in row)), None)
    if header_at is None:
        raise ImportFileError("文件中没有任何内容")
    mapping = map_header(table[header_at])
    missing = [COLUMNS[c] for c in REQUIRED if c not in mapping.values()]
    if missing:
        raise ImportFileError(
            f"缺少必需的列：{'、'.join(missing)}（第一行应为表头：社区、网格、楼栋、地址、所在支部、所在党小组）"
        )
    rows = []
    for offset, cells in enumerate(table[header_at + 1 :], start=header_at + 2):
        values = {col: "" for col in COLUMNS}
        for index, column in mapping.items():
            if index < len(cells):
                values[column] = clean_cell(cells[index])
        if not any(values.values()):
            continue
        rows.append({"line": offset, "values": values})
    if len(rows) > MAX_ROWS:
        raise ImportFileError(f"一次最多导入 {MAX_ROWS} 行，请拆分文件")
    if not rows:
        raise ImportFileError("文件中只有表头，没有数据行")
    return rows


# ---- analysing and applying ---------------------------------------------------------------


class RowResult(ImportRow):
    column_labels = COLUMNS


Preview = ImportPreview


PLANNED = object()  # stands for a node the preview would create


class _Index:
    """The existing trees keyed by names: what the file's rows refer to."""

    def __init__(self, street_name: str):
        self.street_name = street_name
        self.street = db.session.execute(
            select(Org)
            .where(Org.kind == "street_committee", Org.parent_id.is_(None))
            .order_by(Org.retired_at.is_not(None), Org.position, Org.id)
            .limit(1)
        ).scalar_one_or_none()
        places = db.session.execute(select(Place)).scalars().all()
        by_id = {p.id: p for p in places}
        self.communities: dict = {}
        self.grids: dict = {}
        self.buildings: dict = {}
        for place in places:
            if place.kind == "community" and place.parent_id is None:
                self.communities.setdefault(place.name, place)
        for place in places:
            parent = by_id.get(place.parent_id)
            if place.kind == "grid" and parent is not None and parent.parent_id is None:
                self.grids.setdefault((parent.name, place.name), place)
        for place in places:
            grid = by_id.get(place.parent_id)
            community = by_id.get(grid.parent_id) if grid is not None else None
            if place.kind == "building" and grid is not None and community is not None:
                self.buildings.setdefault((community.name, grid.name, place.name), place)
        orgs = db.session.execute(select(Org)).scalars().all()
        org_by_id = {o.id: o for o in orgs}
        community_name = {p.id: p.name for p in places if p.kind == "community"}
        self.committees: dict = {}
        for org in orgs:
            if org.kind == "community_committee" and org.place_id in community_name:
                self.committees.setdefault(community_name[org.place_id], org)
        committee_community = {c.id: name for name, c in self.committees.items()}
        self.branches: dict = {}
        self.groups: dict = {}
        for org in orgs:
            if org.kind == "branch" and org.parent_id in committee_community:
                self.branches.setdefault((committee_community[org.parent_id], org.name), org)
        for org in orgs:
            branch = org_by_id.get(org.parent_id)
            if (
                org.kind == "group"
                and branch is not None
                and branch.parent_id in committee_community
            ):
                key = (committee_community[branch.parent_id], branch.name, org.name)
                self.groups.setdefault(key, org)
        self.group_key = {g.id: key for key, g in self.groups.items()}
        self.workers = set(db.session.execute(select(GridWorker.grid_id, GridWorker.user_id)).all())
        self.users: dict = {}
        self.positions: dict = {}
        for model, items in ((Place, places), (Org, orgs)):
            for item in items:
                key = (model.__name__, item.parent_id)
                self.positions[key] = max(self.positions.get(key, 0), item.position)

    def user(self, username: str) -> User | None:
        key = username.lower()
        if key not in self.users:
            self.users[key] = db.session.execute(
                select(User).where(func.lower(User.username) == key)
            ).scalar_one_or_none()
        return self.users[key]

    def next_position(self, model, parent_id) -> int:  # noqa: ANN001
        key = (model.__name__, parent_id)
        self.positions[key] = self.positions.get(key, 0) + 1
        return self.positions[key]


class _Writer:
    """Creates nodes during ``apply`` (flushing parents so children get ids)."""

    def __init__(self, index: _Index, user):  # noqa: ANN001
        self.index = index
        self.user = user
        self.buildings: list[Place] = []

    def node(self, model, flush: bool = True, **fields):  # noqa: ANN001
        node = model(position=self.index.next_position(model, fields.get("parent_id")), **fields)
        db.session.add(node)
        if flush:
            db.session.flush()
            self.audit(node)
        return node

    def audit(self, node) -> None:  # noqa: ANN001
        tree = "org" if isinstance(node, Org) else "place"
        after = {"kind": node.kind, "name": node.name, "parent_id": node.parent_id}
        if isinstance(node, Place) and node.kind == "building":
            after |= {"address": node.address, "group_id": node.group_id}
        record(f"{tree}_create", node, after=after, detail="结构导入", user=self.user)


# How the preview names a node it creates: 新建网格「…」; a committee's name says 党委 itself.
NEW_NODE_LABELS = {
    "community": "社区",
    "community_committee": "",
    "grid": "网格",
    "branch": "支部",
    "group": "党小组",
    "building": "楼栋",
}


def _new_node(row: RowResult, writer: _Writer | None, model, kind: str, name: str, **columns):  # noqa: ANN001, ANN201
    """A missing node of the row: the change noted on the row, the node created when writing
    (``PLANNED`` in a preview). A column given as a node (``parent=``, ``place=``, ``group=``:
    a node or None) becomes its ``…_id``, read only when writing (a preview's nodes may be
    ``PLANNED``)."""
    row.changes.append(f"新建{NEW_NODE_LABELS[kind]}「{name}」")
    if not writer:
        return PLANNED
    for key in ("parent", "place", "group"):
        if key in columns:
            node = columns.pop(key)
            columns[f"{key}_id"] = node.id if node is not None else None
    return writer.node(model, kind=kind, name=name, **columns)


def _check_values(values: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for column in REQUIRED:
        if not values[column]:
            errors[column] = "必填"
    for column in ("community", "grid", "building", "branch", "group"):
        if len(values[column]) > NAME_MAX:
            errors[column] = f"不能超过 {NAME_MAX} 个字"
    if len(values["address"]) > ADDRESS_MAX:
        errors["address"] = f"不能超过 {ADDRESS_MAX} 个字"
    if values["group"] and not values["branch"]:
        errors["branch"] = "填写了党小组时须同时填写所在支部"
    if values["branch"] and not values["group"]:
        # A building belongs to a branch through its building group (党小组建在楼栋): a branch
        # alone could not be linked to the building and would be lost.
        errors["group"] = "填写了所在支部时须同时填写所在党小组（楼栋通过党小组归属支部）"
    return errors


def _retired(node) -> bool:  # noqa: ANN001
    return node is not None and node is not PLANNED and node.retired_at is not None


def analyze(
    rows: list[dict], street_name: str = DEFAULT_STREET, *, apply: bool = False, user=None
) -> Preview:  # noqa: ANN001
    """Classify each row; with ``apply`` also write the changes (the caller commits)."""
    street_name = " ".join(normalize_text(street_name).split()) or DEFAULT_STREET
    index = _Index(street_name)
    writer = _Writer(index, user) if apply else None
    preview = Preview([])
    seen: dict[tuple, int] = {}
    if index.street is None:
        preview.notes.append(f"将新建街道党工委「{street_name}」")

    def street():
        if index.street is None:
            index.street = (
                writer.node(Org, kind="street_committee", name=street_name, parent_id=None)
                if writer
                else PLANNED
            )
        return index.street

    for raw in rows:
        row = RowResult(raw["line"], dict(raw["values"]))
        preview.rows.append(row)
        v = row.values
        row.errors = _check_values(v)
        key = (v["community"], v["grid"], v["building"])
        if not row.errors and key in seen:
            row.errors["building"] = f"与第 {seen[key]} 行重复"
        community = index.communities.get(v["community"])
        grid = index.grids.get((v["community"], v["grid"]))
        building = index.buildings.get(key)
        branch = index.branches.get((v["community"], v["branch"])) if v["branch"] else None
        group = index.groups.get((v["community"], v["branch"], v["group"])) if v["group"] else None
        for column, node in (
            ("community", community),
            ("grid", grid),
            ("building", building),
            ("branch", branch),
            ("group", group),
        ):
            if _retired(node) and column not in row.errors:
                row.errors[column] = f"「{node.name}」已停用"
        worker = None
        if v["worker"]:
            worker = index.user(v["worker"])
            if worker is None:
                row.errors["worker"] = f"账号 {v['worker']} 不存在"
            elif worker.role not in {"grid_worker", "staff"}:
                row.errors["worker"] = f"账号 {v['worker']} 不是网格员或党务工作者"
            elif not worker.active:
                row.errors["worker"] = f"账号 {v['worker']} 已停用"
        if row.errors:
            row.status = "rejected"
            continue
        seen[key] = row.line

        # Walk the row top-down, creating (or planning) what is missing.
        if community is None:
            community = _new_node(row, writer, Place, "community", v["community"], parent=None)
            index.communities[v["community"]] = community
        committee = index.committees.get(v["community"])
        if committee is None:
            parent = street()
            committee = _new_node(
                row,
                writer,
                Org,
                "community_committee",
                f"{v['community']}党委",
                parent=parent,
                place=community,
            )
            index.committees[v["community"]] = committee
        if grid is None:
            grid = _new_node(row, writer, Place, "grid", v["grid"], parent=community)
            index.grids[(v["community"], v["grid"])] = grid
        if v["branch"] and branch is None:
            branch = _new_node(row, writer, Org, "branch", v["branch"], parent=committee)
            index.branches[(v["community"], v["branch"])] = branch
        if v["group"] and group is None:
            group = _new_node(row, writer, Org, "group", v["group"], parent=branch)
            index.groups[(v["community"], v["branch"], v["group"])] = group
            if writer:
                index.group_key[group.id] = (v["community"], v["branch"], v["group"])
        if building is None:
            row.status = "create"
            building = _new_node(
                row,
                writer,
                Place,
                "building",
                v["building"],
                flush=False,
                parent=grid,
                address=v["address"] or None,
                group=group,
            )
            if writer:
                writer.buildings.append(building)
            index.buildings[key] = building
        else:
            if v["address"] and building.address != v["address"]:
                row.changes.append(f"地址改为「{v['address']}」")
                if writer:
                    before = {"address": building.address}
                    building.address = v["address"]
                    record(
                        "place_update",
                        building,
                        before=before,
                        after={"address": v["address"]},
                        detail="结构导入",
                        user=user,
                    )
            if group is not None:
                current = index.group_key.get(building.group_id) if building.group_id else None
                wanted = (v["community"], v["branch"], v["group"])
                if current != wanted:
                    row.changes.append(f"关联党小组「{v['group']}」")
                    if writer:
                        before = {"group_id": building.group_id}
                        building.group_id = group.id
                        record(
                            "place_group_link",
                            building,
                            before=before,
                            after={"group_id": group.id, "group": group.name},
                            detail="结构导入",
                            user=user,
                        )
        if worker is not None:
            grid_id = ("planned", *key[:2]) if grid is PLANNED else grid.id
            if (grid_id, worker.id) not in index.workers:
                row.changes.append(f"任命网格员 {worker.username}")
                if writer:
                    add_audited(
                        "grid_worker_appoint",
                        GridWorker(grid_id=grid.id, user_id=worker.id),
                        {"grid_id": grid.id, "user": worker.username},
                        detail="结构导入",
                        user=user,
                    )
                index.workers.add((grid_id, worker.id))
        if row.status != "create":
            row.status = "update" if row.changes else "unchanged"

    if writer:
        db.session.flush()
        for building in writer.buildings:
            writer.audit(building)
        db.session.flush()
    return preview


# ---- the preview between upload and confirm -----------------------------------------------

# ---- writing spreadsheets -----------------------------------------------------------------


def rejected_xlsx(preview: Preview) -> bytes:
    header = ["行号", *COLUMNS.values(), "原因"]
    rows = [[row.line, *(row.values[c] for c in COLUMNS), row.reason] for row in preview.rejected]
    return write_xlsx(header, rows, "有误的行")


def structure_rows(place_filter) -> list[list[str]]:  # noqa: ANN001
    """Buildings (inside ``place_filter``) as import rows: export → import changes nothing."""
    from sqlalchemy.orm import aliased

    grid = aliased(Place)
    community = aliased(Place)
    group = aliased(Org)
    branch = aliased(Org)
    query = (
        select(
            community.name,
            grid.name,
            Place.name,
            Place.address,
            branch.name,
            group.name,
        )
        .join(grid, grid.id == Place.parent_id)
        .join(community, community.id == grid.parent_id)
        .outerjoin(group, group.id == Place.group_id)
        .outerjoin(branch, branch.id == group.parent_id)
        .where(Place.kind == "building", Place.retired_at.is_(None), place_filter)
        .order_by(community.position, community.id, grid.position, grid.id, Place.position)
    )
    rows = db.session.execute(query.add_columns(grid.id)).all()
    # The grid's worker (the first appointed, by username): an import row names one.
    workers: dict[int, str] = {}
    for grid_id, username in db.session.execute(
        select(GridWorker.grid_id, User.username)
        .join(User, User.id == GridWorker.user_id)
        .where(GridWorker.grid_id.in_(sorted({r[-1] for r in rows})), User.active.is_(True))
        .order_by(GridWorker.id)
    ):
        workers.setdefault(grid_id, username)
    return [[c or "" for c in row[:-1]] + [workers.get(row[-1], "")] for row in rows]
