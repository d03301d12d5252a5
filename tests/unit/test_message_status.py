from __future__ import annotations

import pytest

from dramtrade.message_status import advances


@pytest.mark.parametrize(
    ("channel", "current", "new", "expected"),
    [
        ("sms", "pending", "queued", True),
        ("sms", "queued", "sent", True),
        ("sms", "sent", "delivered", True),
        ("sms", "delivered", "sent", False),
        ("sms", "delivered", "queued", False),
        ("sms", "queued", "delivered", True),  # skipped states are fine
        ("sms", "undelivered", "sent", False),
        ("sms", "sent", "bogus", False),
        ("email", "processed", "delivered", True),
        ("email", "delivered", "processed", False),
        ("email", "opened", "delivered", False),
        ("email", "delivered", "bounced", True),
    ],
)
def test_status_only_moves_forward(channel: str, current: str, new: str, expected: bool) -> None:
    assert advances(channel, current, new) is expected
