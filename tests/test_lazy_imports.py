"""Processes that never compute a name's pinyin (the print-job worker and its render
processes) do not load pypinyin's dictionaries (~55 MB of each process's memory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_application_loads_pypinyin_only_when_a_name_needs_it():
    script = (
        "import sys\n"
        "from app import create_app\n"
        "create_app('testing')\n"
        "from app.certificates import jobs  # the print-job worker's code\n"
        "print('pypinyin' in sys.modules)\n"
        "from app.members.rules import name_keys\n"
        "print(name_keys('张三'), 'pypinyin' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "False"
    assert out[1] == "('zhang san', 'zs') True"
