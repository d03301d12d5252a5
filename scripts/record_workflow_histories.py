"""Re-record the workflow histories that tests/workflows/test_replay.py replays.

    .venv/bin/python scripts/record_workflow_histories.py [NAME ...]

NAME selects scenarios (pytest -k, e.g. ``membership``); none records all. Needs what the test
suite needs (PostgreSQL at TEST_POSTGRES_ADMIN_DSN, the Temporal test server from PyPI). Run
it only after a deliberate, versioned workflow change (see the replay test's docstring), and
commit the rewritten tests/workflows/histories/*.json.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    names = [name if name.startswith("test_") else f"test_record_{name}" for name in argv]
    os.environ["RECORD_WORKFLOW_HISTORIES"] = "1"
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    selected = " or ".join(names) if names else "test_record_"
    return int(pytest.main(["tests/workflows/test_replay.py", "-q", "-k", selected]))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
