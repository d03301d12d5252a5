from __future__ import annotations

import pytest

from dramtrade.templating import VARIABLES, TemplateError, render, validate


def test_known_variables_are_substituted_with_or_without_spaces() -> None:
    out = render(
        "Hi {{first_name}}, {{ business_name }} here",
        {"first_name": "Dana", "business_name": "Lone Star Comfort"},
    )
    assert out == "Hi Dana, Lone Star Comfort here"


def test_nothing_is_evaluated() -> None:
    text = "{{first_name.__class__}} {{ 1+1 }} {% if x %}"
    assert render(text, {"first_name": "Dana"}) == text


def test_html_values_are_escaped_when_asked() -> None:
    out = render("<p>{{first_name}}</p>", {"first_name": "<script>x</script>"}, escape_html=True)
    assert out == "<p>&lt;script&gt;x&lt;/script&gt;</p>"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("Hi {{frist_name}}", "unknown variable(s): frist_name"),
        ("Hi {{first_name}", "unbalanced"),
        ("Hi first_name}}", "unbalanced"),
        ("Hi {{ first name }}", "unbalanced"),
    ],
)
def test_bad_templates_are_refused_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(TemplateError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        validate(text)


def test_every_documented_variable_validates() -> None:
    validate(" ".join("{{" + name + "}}" for name in VARIABLES))
