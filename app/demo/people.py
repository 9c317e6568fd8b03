"""Plausible people for the demo: names by sex, birth year and ethnicity, phone numbers, valid
and unique ID numbers, birth dates, education. A mixin of ``Generator`` (its ``rng`` and
``today``)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from itertools import accumulate

from app.demo import data
from app.demo.common import add_years
from app.members.identity import check_char
from app.members.rules import name_keys


class People:
    rng: random.Random
    today: date

    def __init__(self) -> None:
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()
        self.pinyin: dict[str, tuple[str, str]] = {}
        self.cumulative: dict[int, list[float]] = {}

    def weighted(self, table: list[tuple]) -> tuple:
        """One row of ``table``, whose last item is its weight."""
        cumulative = self.cumulative.get(id(table))
        if cumulative is None:
            cumulative = self.cumulative[id(table)] = list(accumulate(row[-1] for row in table))
        return self.rng.choices(table, cum_weights=cumulative)[0]

    def person_name(self, sex: str, birth_year: int, ethnicity: str = "汉族") -> str:
        rng = self.rng
        if ethnicity == "藏族":
            parts = data.TIBETAN_PARTS_M if sex == "M" else data.TIBETAN_PARTS_F
            return rng.choice(data.TIBETAN_PARTS_M + data.TIBETAN_PARTS_F) + rng.choice(parts)
        if ethnicity in {"维吾尔族", "哈萨克族"}:
            own = data.TURKIC_NAMES_M if sex == "M" else data.TURKIC_NAMES_F
            return rng.choice(own) + "·" + rng.choice(data.TURKIC_NAMES_M)
        surnames = data.MINORITY_SURNAMES.get(ethnicity, data.SURNAMES)
        surname = self.weighted(surnames)[0]
        for born_by, male, female in data.GIVEN_NAMES:
            if birth_year <= born_by:
                names = male if sex == "M" else female
                break
        if rng.random() < 0.7:
            given = rng.choice(names)
        else:
            chars = data.NAME_CHARS_M if sex == "M" else data.NAME_CHARS_F
            given = rng.choice(chars) + rng.choice(chars)
            if given[0] == given[1] and rng.random() < 0.5:
                given = given[0]
        return surname + given

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(data.MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def landline(self) -> str:
        return f"{data.AREA_PHONE}-8{self.rng.randrange(10**6):06d}"

    def id_number(self, area: str, birth: date, sex: str) -> str:
        while True:
            seq = self.rng.randrange(100)
            sex_digit = self.rng.randrange(1, 10, 2) if sex == "M" else self.rng.randrange(0, 10, 2)
            first17 = f"{area}{birth:%Y%m%d}{seq:02d}{sex_digit}"
            value = first17 + check_char(first17)
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    def name_keys(self, name: str) -> tuple[str, str]:
        keys = self.pinyin.get(name)
        if keys is None:
            keys = self.pinyin[name] = name_keys(name)
        return keys

    def date_between(self, start: date, end: date) -> date:
        if end <= start:
            return start
        return start + timedelta(days=self.rng.randrange((end - start).days + 1))

    def birth_date(self, age: int) -> date:
        latest = add_years(self.today, -age)
        earliest = add_years(self.today, -(age + 1)) + timedelta(days=1)
        return self.date_between(earliest, latest)

    def education(self, born: int) -> tuple[str, str | None]:
        rng = self.rng
        if born < 1955:
            education = rng.choices(data.EDUCATIONS[:6], [15, 30, 25, 15, 10, 5])[0]
        elif born < 1975:
            education = rng.choices(data.EDUCATIONS[1:7], [15, 25, 20, 20, 18, 2])[0]
        else:
            education = rng.choices(data.EDUCATIONS[2:7], [10, 10, 30, 42, 8])[0]
        return education, {"大学本科": "学士", "硕士研究生": "硕士"}.get(education)
