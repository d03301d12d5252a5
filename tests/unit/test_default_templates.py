"""The seeded notification templates: valid, one SMS segment for typical values, no blanks."""

from __future__ import annotations

import pytest

from dramtrade import templating
from dramtrade.notification_settings import CHANNELS, TRIGGERS
from dramtrade.provisioning import DEFAULT_TEMPLATES
from dramtrade.sms_segments import count_segments

# Values as long as a typical homeowner notice gets (a long-ish name and business).
TYPICAL = {name: v.example for name, v in templating.VARIABLES.items()} | {
    "first_name": "Alexandra",
    "business_name": "Lone Star Comfort",
    "job_type": "AC tune-up",
    "job_date": "Wednesday, September 30",
    "appointment_time": "10:00 AM - 12:00 PM",
}

# The values each trigger can count on (see dramtrade.template_context).
ALWAYS = {"first_name", "last_name", "customer_name", "business_name", "business_phone"}
JOB = ALWAYS | {"job_type"}
SCHEDULED = JOB | {"job_date", "appointment_time"}
AVAILABLE = {
    "job_booked": SCHEDULED,
    "technician_en_route": JOB,
    "technician_on_site": JOB,
    "job_complete": JOB,
    "invoice_sent": JOB | {"invoice_total"},
    "payment_received": JOB | {"invoice_total"},
    "membership_renewal_30d": ALWAYS | {"membership_plan", "renewal_date"},
    "membership_renewal_7d": ALWAYS | {"membership_plan", "renewal_date"},
    "job_rescheduled": SCHEDULED,
    "job_cancelled": JOB,
    "appointment_reminder": SCHEDULED,
}


def test_every_trigger_and_channel_is_covered_once() -> None:
    pairs = [(t.trigger, t.channel.value) for t in DEFAULT_TEMPLATES]
    assert sorted(pairs) == sorted((t, c) for t in TRIGGERS for c in CHANNELS)


@pytest.mark.parametrize("tpl", DEFAULT_TEMPLATES, ids=lambda t: f"{t.trigger}-{t.channel}")
def test_template_is_valid_and_uses_only_values_its_trigger_has(tpl: object) -> None:
    from dramtrade.provisioning import DefaultTemplate

    assert isinstance(tpl, DefaultTemplate)
    templating.validate(tpl.body)
    used = set(templating.variables_in(tpl.body))
    if tpl.subject is not None:
        templating.validate(tpl.subject, field="subject")
        used |= set(templating.variables_in(tpl.subject))
    assert used <= AVAILABLE[tpl.trigger], used - AVAILABLE[tpl.trigger]
    assert "business_name" in used  # the customer knows who is writing
    if tpl.channel.value == "sms":
        info = count_segments(templating.render(tpl.body, TYPICAL))
        assert info.encoding == "GSM-7"
        assert info.segments == 1, templating.render(tpl.body, TYPICAL)
