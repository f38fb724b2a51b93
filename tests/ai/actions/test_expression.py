"""The ``where`` language and templates: operators, precedence, errors — and no eval."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ainos.ai.actions import ExpressionError, parse_expression, parse_template

VALUES: dict[tuple[str, ...], object] = {
    ("File", "Extension"): ".TXT",
    ("File", "FileName"): "notes.TXT",
    ("Text", "Length"): 12,
    ("Text", "WordCount"): 3.0,
    ("Text", "Text"): "hello there",
    ("Photo", "IsTemporaryPath"): False,
    ("Custom", "Properties", "serves"): "4",
}


def resolve(path: tuple[str, ...]) -> object:
    return VALUES.get(path)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('${File.Extension} == ".TXT"', True),
        ('${File.Extension} == ".txt"', False),
        ('${File.Extension} ~= ".txt"', True),
        ('${File.Extension} != ".md"', True),
        ("${Text.Length} > 3", True),
        ("${Text.Length} >= 12", True),
        ("${Text.Length} < 12", False),
        ("${Text.Length} <= 12.0", True),
        ('${Text.Length} == "12"', True),
        ("${Text.WordCount} == 3", True),
        ("${Text.Length > 3}", True),
        ('${Text.Text} < "world"', True),
        ('${File.Extension} ~= ".md" || ${File.Extension} ~= ".txt"', True),
        ('${File.Extension} ~= ".txt" && ${Text.Length} > 100', False),
        ("true || false && false", True),
        ("(true || false) && false", False),
        ("!${Photo.IsTemporaryPath}", True),
        ("${Photo.IsTemporaryPath} == false", True),
        ("${Missing.Thing} == null", True),
        ("${Missing.Thing} > 0", False),
        ('${Missing.Thing} ~= ""', False),
        ("${Missing.Thing}", False),
        ("${Custom.Properties.serves} == 4", True),
        ("'it\\'s' == \"it's\"", True),
        ("-1 < 0", True),
    ],
)
def test_where_clauses(source: str, expected: bool) -> None:
    assert parse_expression(source).holds(resolve) is expected


@pytest.mark.parametrize(
    ("source", "message", "position"),
    [
        ("${File}", "names an entity", 2),
        ("File.Extension == 1", "bare name 'File'", 0),
        ("${File.Extension} ==", "expected a value, found the end", 20),
        ('"open', "string is not closed", 0),
        ("1 < 2 < 3", "comparisons cannot be chained", 6),
        ("${File.Extension", "expected '}', found the end", 16),
        ("${File.} == 1", "expected a property name", 7),
        ("1 == 1 )", "unexpected ')'", 7),
        ("1 = 1", "unexpected character '='", 2),
        ("__import__('os') == 1", "bare name '__import__'", 0),
        ("(" * 100 + "1" + ")" * 100, "nested too deeply", 64),
        ('"\\q"', "unknown escape", 1),
    ],
)
def test_syntax_errors_say_what_and_where(source: str, message: str, position: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    assert message in caught.value.reason
    assert caught.value.position == position


def test_references_lists_every_property_read() -> None:
    clause = parse_expression('${A.X} > 1 && (${B.Y} ~= "z" || !${A.X})')
    assert clause.references() == (("A", "X"), ("B", "Y"))


def test_templates_render_values_and_keep_the_rest() -> None:
    template = parse_template(
        "Open ${File.FileName} (${Text.Length} chars, ${Text.WordCount} words)"
    )
    assert template.render(resolve) == "Open notes.TXT (12 chars, 3 words)"
    assert template.references() == (
        ("File", "FileName"),
        ("Text", "Length"),
        ("Text", "WordCount"),
    )
    assert parse_template("no holes, just $ and {braces}").render(resolve) == (
        "no holes, just $ and {braces}"
    )
    assert parse_template("${Missing.Thing}|${Photo.IsTemporaryPath}").render(resolve) == "|false"


def test_templates_can_escape_values_for_a_uri() -> None:
    from urllib.parse import quote

    template = parse_template("app://open?q=${Text.Text}")
    assert template.render(resolve, quote) == "app://open?q=hello%20there"


def test_a_template_hole_with_a_brace_inside_a_string() -> None:
    template = parse_template('x${Text.Length > 3 && "}" == "}"}y')
    assert template.render(resolve) == "xtruey"


@given(st.text(max_size=80))
def test_parsing_arbitrary_text_only_ever_raises_expression_error(source: str) -> None:
    for parse in (parse_expression, parse_template):
        try:
            parsed = parse(source)
        except ExpressionError:
            continue
        parsed.references()


@given(st.text(alphabet="${}.()!&|=~<>\"' ab1", max_size=40))
def test_operator_soup_never_crashes(source: str) -> None:
    try:
        clause = parse_expression(source)
    except ExpressionError:
        return
    assert isinstance(clause.holds(resolve), bool)
