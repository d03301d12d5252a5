"""The branded email layout: logo, name and colour around sanitized content, nothing injectable."""

from __future__ import annotations

from dramtrade.email_layout import brand_color, on_color, safe_logo_url, text_to_html, wrap
from dramtrade.models import SubAccount
from dramtrade.services.messages import branded_email_html


def _account(**overrides: object) -> SubAccount:
    values: dict[str, object] = {
        "name": "Lone Star Comfort",
        "brand_color": "#0a7d4f",
        "logo_url": "https://cdn.example.com/logo.png",
        "business_phone": "+15125550100",
    }
    values.update(overrides)
    return SubAccount(**values)


def test_layout_carries_logo_colour_name_and_phone() -> None:
    html = wrap(_account(), "<p>Hi <strong>Rosa</strong></p>", title="Your estimate")
    assert html.startswith("<!DOCTYPE html>")
    assert '<img src="https://cdn.example.com/logo.png" alt="Lone Star Comfort"' in html
    assert "background-color:#0a7d4f" in html
    assert "(512) 555-0100" in html
    assert "<title>Your estimate</title>" in html
    assert '<p style="margin:0 0 16px 0;">Hi <strong>Rosa</strong></p>' in html
    assert "<style" not in html and "class=" not in html  # inline styles only


def test_without_logo_the_name_is_the_header() -> None:
    html = wrap(_account(logo_url=None, brand_color="#ffcc00"), "<p>x</p>")
    assert "<img" not in html
    assert 'color:#000000;">Lone Star Comfort</span>' in html  # dark text on a light colour


def test_bad_settings_cannot_inject() -> None:
    account = _account(
        name='<script>alert(1)</script>"',
        brand_color="red;background:url(x)",
        logo_url='javascript:alert(1)"',
    )
    html = wrap(account, "<p>x</p>")
    assert "<script>" not in html and "javascript:" not in html
    assert "url(x)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;" in html
    assert brand_color("#ABCDEF") == "#abcdef" and brand_color("#abc") == "#1f6feb"
    assert safe_logo_url(" https://x.test/l.png ") == "https://x.test/l.png"
    assert safe_logo_url("https://x.test/a b.png") is None


def test_links_take_the_brand_colour() -> None:
    html = wrap(_account(), '<p><a href="https://pay.example.com/1">Pay</a></p>')
    assert (
        'href="https://pay.example.com/1" style="color:#0a7d4f;text-decoration:underline;"' in html
    )


def test_manual_email_html_is_sanitized_then_branded() -> None:
    html = branded_email_html(
        _account(),
        '<p onclick="steal()" style="display:none">Hi <b>Rosa</b></p><script>alert(1)</script>',
        "Hi Rosa",
        "Estimate",
    )
    assert "Hi <b>Rosa</b>" in html
    assert "onclick" not in html and "alert" not in html and "display:none" not in html
    assert "background-color:#0a7d4f" in html


def test_plain_body_becomes_paragraphs() -> None:
    assert text_to_html("Hi <Rosa>,\nsee you.\n\nBye") == (
        "<p>Hi &lt;Rosa&gt;,<br>see you.</p><p>Bye</p>"
    )
    html = branded_email_html(_account(), None, "Hello & welcome", "s")
    assert "Hello &amp; welcome" in html


def test_contrast_choice() -> None:
    assert on_color("#1f6feb") == "#ffffff"
    assert on_color("#ffffff") == "#000000"
