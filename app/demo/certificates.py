"""Open mobile-member certificates (活动证) for the holders chosen among the members. A mixin
of ``Generator``."""

from __future__ import annotations

from datetime import timedelta

from app.certificates.services import new_serial, new_short_code
from app.demo import data
from app.demo.common import add_years, at_morning
from app.settings import DEFAULTS
from app.timeutil import add_months


class CertificateBuilder:
    def build_certificates(self) -> None:
        rng, today = self.rng, self.today
        sequence: dict[tuple[str, int], int] = {}
        in_sequence = 0
        for row, meta in zip(self.member_rows, self.member_meta, strict=True):
            if not meta["holder"]:
                continue
            community = self.communities[meta["building"].community]
            grid = self.grids[row["grid_id"]]
            since = row["mobility_since"]
            # Open certificates are valid for two years: issued within the last 23 months.
            issued = max(
                since + timedelta(days=rng.randint(0, 45)),
                today - timedelta(days=rng.randint(30, 700)),
            )
            issued = min(issued, today)
            valid_until = add_years(issued, DEFAULTS["certificate_valid_years"])
            if row["mobility"] == "flow_out":
                key = (community.code, issued.year)
                sequence[key] = sequence.get(key, 0) + 1
                number = f"{community.code}-{issued.year}-{sequence[key]:04d}"
                issuing_org_id = row["branch_id"] or community.org_id
                issuing_name = self.org_names[issuing_org_id][0]
                direction, destination = "out", row["mobility_place"]
                occupation = row["mobility_occupation"]
                reason = meta["reason"]
            else:
                in_sequence += 1
                area = row["id_prefix6"]
                number = f"{area}-{issued.year}-{in_sequence:05d}"
                issuing_org_id, issuing_name = None, row["relation_org_name"]
                direction = "in"
                destination = f"{data.DISTRICT}{data.STREET_NAME}{community.name}"
                occupation = row["employer"]
                reason = "外出务工"
            interval = DEFAULTS["certificate_verification_months"]
            self.certificate_rows.append(
                {
                    "version": 1,
                    "number": number,
                    "serial": new_serial(),
                    "short_code": new_short_code(),
                    "member_id": row["id"],
                    "direction": direction,
                    "status": "issued",
                    "issuing_org_id": issuing_org_id,
                    "issuing_org_name": issuing_name,
                    "issued_on": issued,
                    "valid_until": valid_until,
                    "left_on": since,
                    "reason": reason,
                    "destination": destination,
                    "occupation": occupation,
                    "contact_phone": row["phone"],
                    "liaison_name": grid.worker_name,
                    "liaison_phone": grid.worker_phone,
                    "verification_interval_months": interval,
                    "next_verification_due": add_months(issued, interval),
                    "created_by_id": community.staff_ids[0],
                    "created_at": at_morning(issued),
                }
            )
