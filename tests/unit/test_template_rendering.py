"""Template rendering rules: only known variables are substituted, nothing is evaluated, email
HTML values are escaped and may only stand where escaping makes them inert, and the values are
formatted for people in the customer's timezone."""

from __future__ import annotations

import html
import random
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from dramtrade import template_context
from dramtrade.models import Customer, Invoice, Job, Membership, SubAccount, User
from dramtrade.templating import VARIABLES, TemplateError, render, validate, validate_html
from tests.conftest import Tenant

# --- substitution --------------------------------------------------------------------------------


def test_only_known_variables_are_substituted() -> None:
    values = {"first_name": "Dana", "password": "hunter2", "secret": "x"}
    # Unknown names are never looked up, even when the values happen to hold them.
    assert render("{{first_name}} {{password}} {{ secret }}", values) == (
        "Dana {{password}} {{ secret }}"
    )


def test_a_known_variable_without_a_value_renders_empty() -> None:
    assert render("Hi {{first_name}}, {{technician_name}} is coming", {"first_name": "Dana"}) == (
        "Hi Dana,  is coming"
    )


@pytest.mark.parametrize(
    "text",
    [
        "{{first_name.__class__}}",
        "{{first_name.__class__.__mro__[1].__subclasses__()}}",
        "{{ first_name|upper }}",
        "{{ first_name() }}",
        "{{ first_name[0] }}",
        "{{ 7*7 }}",
        "{{ __import__('os').system('id') }}",
        "{% for x in y %}{{x}}{% endfor %}",
        "${first_name} #{first_name} {first_name} {0.__class__}",
    ],
)
def test_nothing_is_evaluated(text: str) -> None:
    values = {"first_name": "Dana", "x": "X", "y": "Y"}
    # Not one of them is a plain ``{{known_name}}``: each is left exactly as written.
    assert render(text, values) == text
    # ... and they are refused at save time unless they are plain literal text.
    if "{{" in text:
        with pytest.raises(TemplateError):
            validate(text)


def test_single_braces_and_format_fields_are_plain_text() -> None:
    text = "Deal: {50%} off {first_name} {0} {}"
    validate(text)
    assert render(text, {"first_name": "Dana"}) == text


def test_values_are_not_rendered_again() -> None:
    """A value holding ``{{...}}`` is inserted as it is: substitution is one pass."""
    values = {"first_name": "{{business_phone}}", "business_phone": "(512) 555-0100"}
    assert render("Hi {{first_name}}", values) == "Hi {{business_phone}}"


def test_whitespace_inside_braces_is_allowed() -> None:
    assert render("{{first_name}}|{{ first_name }}|{{  first_name\t}}", {"first_name": "D"}) == (
        "D|D|D"
    )


def test_unknown_variable_error_suggests_the_close_name() -> None:
    with pytest.raises(TemplateError) as info:
        validate("Hi {{frist_name}} {{zzz}}", field="subject")
    assert info.value.field == "subject"
    assert info.value.problem == (
        "uses unknown variable(s): frist_name (did you mean first_name?), zzz"
    )
    assert str(info.value).startswith("subject uses unknown variable(s)")


# --- HTML ----------------------------------------------------------------------------------------


def test_html_values_are_escaped_and_text_is_not() -> None:
    value = 'Tom & Jerry\'s <b>"shop"</b>'
    assert render("<p>{{customer_name}}</p>", {"customer_name": value}, escape_html=True) == (
        "<p>Tom &amp; Jerry&#x27;s &lt;b&gt;&quot;shop&quot;&lt;/b&gt;</p>"
    )
    assert render("{{customer_name}}", {"customer_name": value}) == value


def test_escaped_values_never_open_a_tag_or_leave_an_attribute() -> None:
    """Seeded fuzz: whatever a value holds, the rendered HTML has exactly the template's tags
    and quotes, and unescaping the value's place gives the value back."""
    rng = random.Random(20270310)
    alphabet = "<>&\"'/=` abcXYZ{}\n;:()"
    template = '<p title="{{first_name}}">{{first_name}}</p>'
    for _ in range(500):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        out = render(template, {"first_name": value}, escape_html=True)
        assert out.count("<") == 2 and out.count(">") == 2 and out.count('"') == 2
        inner = out[len('<p title="') : out.index('">')]
        assert html.unescape(inner) == value


@pytest.mark.parametrize(
    "text",
    [
        "<p>Hi {{first_name}}</p>",
        '<a href="{{invoice_link}}">Pay {{invoice_total}}</a>',
        "<a href='https://example.com/?name={{first_name}}'>x</a>",
        '<a href="tel:{{business_phone}}">Call {{business_name}}</a>',
        '<img alt="{{business_name}}" src="https://cdn.example.com/logo.png">',
        "<!-- for {{first_name}} -->",
        "<p>3 > 2 and {{first_name}}</p>",
        "<textarea>{{first_name}}</textarea>",
        "<script src='https://x.example.com/a.js'></script><p>{{first_name}}</p>",
        "<p>Use <{{first_name}}> as is</p>",
    ],
)
def test_variables_in_text_and_quoted_attributes_are_accepted(text: str) -> None:
    validate_html(text)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<script>var n = '{{first_name}}';</script>", "inside <script>"),
        ("<SCRIPT type=module>{{first_name}}</SCRIPT>", "inside <script>"),
        ("<style>p { color: {{first_name}} }</style>", "inside <style>"),
        ("<a onclick=\"go('{{first_name}}')\">x</a>", "onclick= attribute"),
        ('<a onclick="x>1;{{first_name}}">x</a>', "onclick= attribute"),
        ('<p style="color: {{first_name}}">x</p>', "style= attribute"),
        ('<iframe srcdoc="{{first_name}}"></iframe>', "srcdoc= attribute"),
        ("<p class={{first_name}}>x</p>", "unquoted class= attribute"),
        ("<p {{first_name}}>x</p>", "attribute name"),
        ('<a href="{{first_name}}">x</a>', "start of the href= link"),
        ('<a href=" {{business_name}}">x</a>', "start of the href= link"),
        ('<img src="{{invoice_total}}">', "start of the src= link"),
        ("<p>{{bogus}}</p>", "unknown variable(s): bogus"),
        ("<p>{{first_name</p>", "unbalanced"),
        ("", "empty"),
    ],
)
def test_variables_where_escaping_does_not_protect_are_refused(text: str, problem: str) -> None:
    with pytest.raises(TemplateError) as info:
        validate_html(text)
    assert info.value.field == "html"
    assert problem in info.value.problem


def test_every_documented_variable_validates_in_html_text() -> None:
    validate_html("<p>" + " ".join("{{" + name + "}}" for name in VARIABLES) + "</p>")


# --- values for people, in the customer's timezone ------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [
        (124_950, "USD", "$1,249.50"),
        (24_900, "USD", "$249.00"),
        (5, "usd", "$0.05"),
        (0, "USD", "$0.00"),
        (123_456_789, "USD", "$1,234,567.89"),
        (9_999, "CAD", "CAD 99.99"),
    ],
)
def test_money_is_formatted_for_people(cents: int, currency: str, shown: str) -> None:
    assert template_context.money(cents, currency) == shown


def _customer(session: Session, tenant: Tenant, timezone: str | None) -> Customer:
    customer = Customer(
        sub_account_id=tenant.sub_account_id,
        first_name="Dana",
        last_name="Whitfield",
        timezone=timezone,
    )
    session.add(customer)
    session.flush()
    return customer


def _job(session: Session, customer: Customer, start: datetime, end: datetime) -> Job:
    tech = User(
        sub_account_id=customer.sub_account_id,
        email=f"{uuid.uuid4().hex[:8]}@example.com",
        name="Marco Ruiz",
        phone="+15125550142",
    )
    session.add(tech)
    session.flush()
    job = Job(
        sub_account_id=customer.sub_account_id,
        customer_id=customer.id,
        job_type="Water heater install",
        scheduled_start=start,
        scheduled_end=end,
        technician_id=tech.id,
    )
    session.add(job)
    session.flush()
    return job


# 07:30 UTC on Thursday 11 March 2027: 1:30 AM Thursday in Chicago (CST, UTC-6), but still
# 11:30 PM Wednesday in Los Angeles (PST, UTC-8). US daylight time starts on 14 March 2027.
LATE = datetime(2027, 3, 11, 7, 30, tzinfo=UTC)
LATE_END = datetime(2027, 3, 11, 9, 0, tzinfo=UTC)


def test_a_los_angeles_customer_sees_los_angeles_time(db_session: Session, tenant: Tenant) -> None:
    account = db_session.get_one(SubAccount, tenant.sub_account_id)
    assert account.timezone == "America/Chicago"
    customer = _customer(db_session, tenant, "America/Los_Angeles")
    values = template_context.build(
        db_session, account, customer, _job(db_session, customer, LATE, LATE_END)
    )
    assert values["job_date"] == "Wednesday, March 10"
    assert values["appointment_time"] == "11:30 PM - 1:00 AM"


def test_a_customer_without_a_timezone_sees_the_sub_accounts(
    db_session: Session, tenant: Tenant
) -> None:
    account = db_session.get_one(SubAccount, tenant.sub_account_id)
    customer = _customer(db_session, tenant, None)
    values = template_context.build(
        db_session, account, customer, _job(db_session, customer, LATE, LATE_END)
    )
    assert values["job_date"] == "Thursday, March 11"
    assert values["appointment_time"] == "1:30 AM - 3:00 AM"


def test_daylight_saving_time_is_followed(db_session: Session, tenant: Tenant) -> None:
    account = db_session.get_one(SubAccount, tenant.sub_account_id)
    customer = _customer(db_session, tenant, "America/Los_Angeles")
    # 16:00 UTC is 8:00 AM PST before 14 March 2027 and 9:00 AM PDT after it.
    before = _job(
        db_session,
        customer,
        datetime(2027, 3, 12, 16, 0, tzinfo=UTC),
        datetime(2027, 3, 12, 18, 0, tzinfo=UTC),
    )
    after = _job(
        db_session,
        customer,
        datetime(2027, 3, 16, 16, 0, tzinfo=UTC),
        datetime(2027, 3, 16, 18, 0, tzinfo=UTC),
    )
    assert template_context.build(db_session, account, customer, before)["appointment_time"] == (
        "8:00 AM - 10:00 AM"
    )
    assert template_context.build(db_session, account, customer, after)["appointment_time"] == (
        "9:00 AM - 11:00 AM"
    )


def test_every_variable_gets_a_human_value(db_session: Session, tenant: Tenant) -> None:
    account = db_session.get_one(SubAccount, tenant.sub_account_id)
    customer = _customer(db_session, tenant, "America/Los_Angeles")
    job = _job(db_session, customer, LATE, LATE_END)
    db_session.add_all(
        [
            Invoice(
                sub_account_id=tenant.sub_account_id,
                customer_id=customer.id,
                job_id=job.id,
                number="INV-7",
                total_cents=124_950,
                due_date=date(2027, 3, 24),
                link="https://pay.example.com/i/7",
            ),
            Membership(
                sub_account_id=tenant.sub_account_id,
                customer_id=customer.id,
                plan="Comfort Club",
                renewal_date=date(2027, 4, 1),
            ),
        ]
    )
    db_session.flush()
    values = template_context.build(db_session, account, customer, job)
    assert set(values) == set(VARIABLES)
    assert values["invoice_total"] == "$1,249.50"
    assert values["invoice_due_date"] == "March 24, 2027"
    assert values["renewal_date"] == "April 1, 2027"
    assert values["technician_phone"] == "(512) 555-0142"
    assert values["customer_name"] == "Dana Whitfield"
    assert values["business_name"] == "Lone Star Comfort"
    rendered = render(
        "Hi {{first_name}}, {{job_type}} {{job_date}} {{appointment_time}}; "
        "total {{invoice_total}} due {{invoice_due_date}}",
        values,
    )
    assert rendered == (
        "Hi Dana, Water heater install Wednesday, March 10 11:30 PM - 1:00 AM; "
        "total $1,249.50 due March 24, 2027"
    )
