"""``python -m sandbox_carrier --host 127.0.0.1 --port 8100``"""

from __future__ import annotations

import argparse

import uvicorn

from sandbox_carrier.app import create_app
from sandbox_carrier.config import CarrierConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox_carrier",
        description="Local Twilio/SendGrid stand-in. Settings come from CARRIER_* env vars.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    config = CarrierConfig()
    print(
        f"sandbox carrier on http://{args.host}:{args.port}/_carrier/ "
        f"(account {config.twilio_account_sid})",
        flush=True,
    )
    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
