"""Message states as the providers report them, and the rule that they never move backwards.

Providers deliver callbacks out of order and skip states, so an update is applied only when
it moves the message forward. Terminal states win over everything before them.
"""

from __future__ import annotations

# Rank per state; a callback with a lower or equal rank than the current one is ignored.
SMS_RANK: dict[str, int] = {
    "pending": 0,
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "receiving": 4,
    "received": 5,
    "delivered": 6,
    "read": 7,
    "undelivered": 6,
    "failed": 6,
    "canceled": 6,
    "suppressed": 6,
}

EMAIL_RANK: dict[str, int] = {
    "pending": 0,
    "queued": 1,
    "processed": 2,
    "deferred": 3,
    "delivered": 4,
    "opened": 5,
    "clicked": 6,
    "bounced": 7,
    "dropped": 7,
    "spam_report": 8,
    "unsubscribed": 8,
    "failed": 7,
    "suppressed": 7,
}

# SendGrid event names -> our email states.
SENDGRID_EVENT_STATUS: dict[str, str] = {
    "processed": "processed",
    "deferred": "deferred",
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "dropped": "dropped",
    "spamreport": "spam_report",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
}


def advances(channel: str, current: str, new: str) -> bool:
    ranks = SMS_RANK if channel == "sms" else EMAIL_RANK
    if new not in ranks:
        return False
    return ranks[new] > ranks.get(current, 0)
