"""`dramtrade seed` is idempotent against the embedded default's SQLite database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from dramtrade.cli import seed_and_save
from dramtrade.config import Settings
from dramtrade.models import ApiKey, Customer, Job, PhoneNumber, SubAccount, User
from dramtrade.security import hash_api_key, verify_password


def _seed(tmp_path: Path, db_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DRAMTRADE_DATABASE_URL": db_url,
        "DRAMTRADE_DATA_DIR": str(tmp_path / "var"),
        # Nothing listens on the discard port: registration must be skipped, not fail.
        "DRAMTRADE_TWILIO_API_BASE_URL": "http://127.0.0.1:9",
    }
    result = subprocess.run(
        [sys.executable, "-m", "dramtrade.cli", "seed"],
        env=env,
        cwd=tmp_path,  # no stray .env
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _counts(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            return {
                model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (SubAccount, User, Customer, Job, PhoneNumber)
            }
    finally:
        engine.dispose()


def _key_is_live(db_url: str, key: str) -> bool:
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key)))
            return row is not None and row.revoked_at is None
    finally:
        engine.dispose()


def test_seed_twice_is_idempotent(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'dramtrade.db'}"
    creds_path = tmp_path / "var" / "demo-credentials.json"

    first = _seed(tmp_path, db_url)
    assert "created" in first.stdout
    creds = json.loads(creds_path.read_text())
    assert creds["api_key"].startswith("dtk_")
    assert {"api_url", "carrier_url", "api_key", "login", "password"} <= creds.keys()
    counts = _counts(db_url)
    assert counts == {"SubAccount": 1, "User": 2, "Customer": 4, "Job": 2, "PhoneNumber": 1}

    second = _seed(tmp_path, db_url)
    assert "already exists" in second.stdout
    again = json.loads(creds_path.read_text())
    assert again["api_key"] == creds["api_key"]
    assert again["scheduled_job_id"] == creds["scheduled_job_id"]
    assert _counts(db_url) == counts
    assert _key_is_live(db_url, creds["api_key"])

    engine = create_engine(db_url)
    with Session(engine) as session:
        owner = session.scalar(select(User).where(User.email == creds["login"]))
        assert owner is not None
        assert verify_password(owner.password_hash, creds["password"])
    engine.dispose()

    # The plain key is only on file: losing the file revokes it and issues another.
    # (In-process, to keep the test short: the same code path as the command.)
    creds_path.unlink()
    seed_and_save(Settings(database_url=db_url, data_dir=tmp_path / "var"), register=False)
    third = json.loads(creds_path.read_text())
    assert third["api_key"] != creds["api_key"]
    assert _key_is_live(db_url, third["api_key"])
    assert not _key_is_live(db_url, creds["api_key"])
    assert _counts(db_url) == counts


def test_sms_segments_command_reads_stdin_and_prints_json() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "dramtrade.cli", "sms-segments"],
        input="a" * 161,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"encoding": "GSM-7", "segments": 2, "characters": 161}
    bad = subprocess.run(
        [sys.executable, "-m", "dramtrade.cli", "sms-segments"],
        input=b"\xff",
        capture_output=True,
        timeout=60,
    )
    assert bad.returncode == 2 and b"not valid UTF-8" in bad.stderr
