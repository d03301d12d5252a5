"""Where the shared provider protocol facts live: ../shared/protocol beside the repository."""

from __future__ import annotations

from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
PROTOCOL_DIR = REPO_DIR.parent / "shared" / "protocol"
OPENAPI_DIR = PROTOCOL_DIR / "openapi"
