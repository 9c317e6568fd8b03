"""Demo accounts (the four printed logins), staff per community and a grid worker per grid.
A mixin of ``Generator``."""

from __future__ import annotations

from app.auth import services
from app.auth.models import User
from app.auth.passwords import hash_password

DEMO_PASSWORD = "Linli@2026demo"  # noqa: S105 - demo only, printed on purpose
DEMO_ACCOUNTS = [
    ("admin", "社区书记（演示）", "admin", DEMO_PASSWORD),
    ("staff", "社区党务工作者（演示）", "staff", DEMO_PASSWORD),
    ("grid", "网格员（演示）", "grid_worker", DEMO_PASSWORD),
    ("member", "党员（演示）", "member", DEMO_PASSWORD),
]


def create_demo_accounts() -> dict[str, User]:
    accounts = {}
    for username, name, role, password in DEMO_ACCOUNTS:
        fields = {}
        if role == "staff":
            fields["may_reveal"] = True
        accounts[username] = services.create_user(
            username, name, role, password, must_change_password=False, **fields
        )
    return accounts


class AccountBuilder:
    def build_users(self, demo: dict[str, User]) -> None:
        """Staff per community and a grid worker per grid; the demo accounts take the first."""
        rng = self.rng
        shared_hash = hash_password(DEMO_PASSWORD)
        first = self.communities[0]
        first_grid = self.grids[first.grid_ids[0]]
        for community in self.communities:
            for k in range(self.size.staff_per_community):
                if community is first and k == 0:
                    user_id = demo["staff"].id
                else:
                    user_id = self.next_id("user")
                    sex = rng.choice("MF")
                    self.user_rows.append(
                        self.user_row(
                            user_id,
                            f"staff{community.index + 1:02d}{chr(ord('a') + k)}",
                            self.person_name(sex, rng.randint(1970, 1995)),
                            "staff",
                            shared_hash,
                        )
                    )
                community.staff_ids.append(user_id)
            for g, grid_id in enumerate(community.grid_ids):
                grid = self.grids[grid_id]
                if grid is first_grid:
                    user = demo["grid"]
                    grid.worker_id, grid.worker_name, grid.worker_phone = (
                        user.id,
                        user.display_name,
                        user.phone,
                    )
                    continue
                grid.worker_id = self.next_id("user")
                grid.worker_name = self.person_name(rng.choice("MFF"), rng.randint(1975, 1998))
                grid.worker_phone = self.mobile()
                row = self.user_row(
                    grid.worker_id,
                    f"grid{community.index + 1:02d}{g + 1:02d}",
                    grid.worker_name,
                    "grid_worker",
                    shared_hash,
                )
                row["phone"] = grid.worker_phone
                self.user_rows.append(row)

    def user_row(self, id_, username, display_name, role, password_hash) -> dict:
        return {
            "id": id_,
            "username": username,
            "display_name": display_name,
            "role": role,
            "phone": self.mobile() if role == "staff" else None,
            "password_hash": password_hash,
            "must_change_password": False,
            "failed_logins": 0,
            "session_version": 1,
            "active": True,
            "may_reveal": False,
        }
