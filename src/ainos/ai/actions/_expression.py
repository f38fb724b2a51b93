"""The ``where`` expression language and ``${Entity.Property}`` templates.

A hand-written tokenizer and recursive-descent parser; nothing is ever handed to ``eval``.

Grammar (lowest precedence first)::

    or      := and ("||" and)*
    and     := not ("&&" not)*
    not     := "!" not | compare
    compare := primary (("==" | "~=" | "!=" | "<" | "<=" | ">" | ">=") primary)?
    primary := STRING | NUMBER | "true" | "false" | "null" | "(" or ")" | "${" or "}"

Inside ``${ … }`` a bare dotted name (``File.Extension``) reads an entity property, so both
``${Text.Length} > 3`` and Windows' ``${Text.Length > 3}`` work. ``~=`` is case-insensitive
equality; ordering compares numbers when both sides are numbers, text otherwise; anything
compared with a missing value is false.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal as TypingLiteral

from ainos.errors import ActionDefinitionError

__all__ = [
    "Expression",
    "ExpressionError",
    "Template",
    "format_value",
    "parse_expression",
    "parse_template",
    "truthy",
]

Resolver = Callable[[tuple[str, ...]], object]

_MAX_DEPTH = 64
_DIGITS = frozenset("0123456789")  # str.isdigit also accepts '¹', which float() refuses
_COMPARISONS = ("==", "~=", "!=", "<=", ">=", "<", ">")
_SYMBOLS = ("${", "&&", "||", *_COMPARISONS, "!", "(", ")", "}", ".")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


class ExpressionError(ActionDefinitionError):
    """A ``where`` clause or template does not parse; ``position`` is the offending offset."""

    def __init__(self, message: str, source: str, position: int) -> None:
        super().__init__(f"{message} at offset {position} in {source!r}")
        self.reason = message
        self.position = position


TokenKind = TypingLiteral["str", "num", "name", "sym", "end"]


@dataclass(frozen=True)
class _Token:
    kind: TokenKind
    text: str
    value: object
    position: int


class _Lexer:
    """Tokens on demand, so a template's parser stops right after its closing brace."""

    def __init__(self, source: str, position: int = 0) -> None:
        self.source = source
        self.position = position

    def fail(self, message: str, position: int) -> ExpressionError:
        return ExpressionError(message, self.source, position)

    def next(self) -> _Token:
        src, i = self.source, self.position
        while i < len(src) and src[i].isspace():
            i += 1
        if i >= len(src):
            self.position = i
            return _Token("end", "", None, i)
        char = src[i]
        if char in "'\"":
            return self._string(i)
        if char in _DIGITS or (char == "-" and i + 1 < len(src) and src[i + 1] in _DIGITS):
            return self._number(i)
        if char.isalpha() or char == "_":
            end = i + 1
            while end < len(src) and (src[end].isalnum() or src[end] == "_"):
                end += 1
            self.position = end
            return _Token("name", src[i:end], src[i:end], i)
        for symbol in _SYMBOLS:
            if src.startswith(symbol, i):
                self.position = i + len(symbol)
                return _Token("sym", symbol, symbol, i)
        raise self.fail(f"unexpected character {char!r}", i)

    def _string(self, start: int) -> _Token:
        src, quote = self.source, self.source[start]
        chars: list[str] = []
        i = start + 1
        while i < len(src):
            char = src[i]
            if char == quote:
                self.position = i + 1
                return _Token("str", src[start : i + 1], "".join(chars), start)
            if char == "\\":
                if i + 1 >= len(src) or src[i + 1] not in _ESCAPES:
                    raise self.fail("unknown escape in string", i)
                chars.append(_ESCAPES[src[i + 1]])
                i += 2
                continue
            chars.append(char)
            i += 1
        raise self.fail("string is not closed", start)

    def _number(self, start: int) -> _Token:
        src = self.source
        end = start + 1
        while end < len(src) and src[end] in _DIGITS:
            end += 1
        if end + 1 < len(src) and src[end] == "." and src[end + 1] in _DIGITS:
            end += 1
            while end < len(src) and src[end] in _DIGITS:
                end += 1
        self.position = end
        text = src[start:end]
        return _Token("num", text, float(text), start)


# -- the syntax tree ------------------------------------------------------------------


@dataclass(frozen=True)
class _Const:
    value: object


@dataclass(frozen=True)
class _Ref:
    path: tuple[str, ...]


@dataclass(frozen=True)
class _Not:
    operand: _Node


@dataclass(frozen=True)
class _Binary:
    op: str
    left: _Node
    right: _Node


_Node = _Const | _Ref | _Not | _Binary


def _shown(token: _Token) -> str:
    return repr(token.text) if token.kind != "end" else "the end"


class _Parser:
    def __init__(self, lexer: _Lexer) -> None:
        self.lexer = lexer
        self._peeked: _Token | None = None
        self._ref_depth = 0
        self._depth = 0

    def peek(self) -> _Token:
        if self._peeked is None:
            self._peeked = self.lexer.next()
        return self._peeked

    def take(self) -> _Token:
        token = self.peek()
        self._peeked = None
        return token

    def expect(self, symbol: str) -> None:
        token = self.take()
        if token.kind != "sym" or token.text != symbol:
            raise self.lexer.fail(f"expected {symbol!r}, found {_shown(token)}", token.position)

    def at_symbol(self, *symbols: str) -> bool:
        token = self.peek()
        return token.kind == "sym" and token.text in symbols

    def parse_or(self) -> _Node:
        self._depth += 1
        if self._depth > _MAX_DEPTH:
            raise self.lexer.fail("expression is nested too deeply", self.peek().position)
        node = self._parse_and()
        while self.at_symbol("||"):
            self.take()
            node = _Binary("||", node, self._parse_and())
        self._depth -= 1
        return node

    def _parse_and(self) -> _Node:
        node = self._parse_not()
        while self.at_symbol("&&"):
            self.take()
            node = _Binary("&&", node, self._parse_not())
        return node

    def _parse_not(self) -> _Node:
        if self.at_symbol("!"):
            self.take()
            self._depth += 1
            if self._depth > _MAX_DEPTH:
                raise self.lexer.fail("expression is nested too deeply", self.peek().position)
            negated = _Not(self._parse_not())
            self._depth -= 1
            return negated
        node: _Node = self._parse_primary()
        if self.at_symbol(*_COMPARISONS):
            op = self.take().text
            node = _Binary(op, node, self._parse_primary())
            if self.at_symbol(*_COMPARISONS):
                token = self.peek()
                raise self.lexer.fail("comparisons cannot be chained", token.position)
        return node

    def parse_reference_block(self) -> _Node:
        """``${`` or ``}`` — the caller has already consumed ``${``."""
        self._ref_depth += 1
        node = self.parse_or()
        self.expect("}")
        self._ref_depth -= 1
        return node

    def _parse_primary(self) -> _Node:
        token = self.take()
        if token.kind in ("str", "num"):
            return _Const(token.value)
        if token.kind == "name":
            keyword = {"true": True, "false": False, "null": None}
            if token.text in keyword:
                return _Const(keyword[token.text])
            if self._ref_depth == 0:
                raise self.lexer.fail(
                    f"bare name {token.text!r}; write a property as ${{{token.text}.Property}}",
                    token.position,
                )
            return self._path(token)
        if token.kind == "sym" and token.text == "(":
            node = self.parse_or()
            self.expect(")")
            return node
        if token.kind == "sym" and token.text == "${":
            return self.parse_reference_block()
        raise self.lexer.fail(f"expected a value, found {_shown(token)}", token.position)

    def _path(self, first: _Token) -> _Node:
        parts = [first.text]
        while self.at_symbol("."):
            self.take()
            token = self.take()
            if token.kind != "name":
                raise self.lexer.fail("expected a property name after '.'", token.position)
            parts.append(token.text)
        if len(parts) < 2:
            raise self.lexer.fail(
                f"{first.text!r} names an entity; add the property (${{{first.text}.Text}})",
                first.position,
            )
        return _Ref(tuple(parts))


# -- evaluation -----------------------------------------------------------------------


def truthy(value: object) -> bool:
    if isinstance(value, str):
        return value != "" and value.lower() != "false"
    return bool(value)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def format_value(value: object) -> str:
    """How a property value reads inside a template."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def _equal(left: object, right: object) -> bool:
    if left is None or right is None:
        return left is right
    if isinstance(left, bool) or isinstance(right, bool):
        return truthy(left) == truthy(right)
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a == b
    return format_value(left) == format_value(right)


def _compare(op: str, left: object, right: object) -> bool:
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if left is None or right is None:
        return False
    if op == "~=":
        return format_value(left).casefold() == format_value(right).casefold()
    a, b = _number(left), _number(right)
    pair: tuple[float, float] | tuple[str, str] = (
        (a, b) if a is not None and b is not None else (format_value(left), format_value(right))
    )
    x, y = pair
    if op == "<":
        return x < y  # type: ignore[operator]
    if op == "<=":
        return x <= y  # type: ignore[operator]
    if op == ">":
        return x > y  # type: ignore[operator]
    return x >= y  # type: ignore[operator]


def _evaluate(node: _Node, resolve: Resolver) -> object:
    if isinstance(node, _Const):
        return node.value
    if isinstance(node, _Ref):
        return resolve(node.path)
    if isinstance(node, _Not):
        return not truthy(_evaluate(node.operand, resolve))
    if node.op == "&&":
        return truthy(_evaluate(node.left, resolve)) and truthy(_evaluate(node.right, resolve))
    if node.op == "||":
        return truthy(_evaluate(node.left, resolve)) or truthy(_evaluate(node.right, resolve))
    return _compare(node.op, _evaluate(node.left, resolve), _evaluate(node.right, resolve))


def _references(node: _Node) -> Iterator[tuple[str, ...]]:
    if isinstance(node, _Ref):
        yield node.path
    elif isinstance(node, _Not):
        yield from _references(node.operand)
    elif isinstance(node, _Binary):
        yield from _references(node.left)
        yield from _references(node.right)


@dataclass(frozen=True)
class Expression:
    """A parsed ``where`` clause."""

    source: str
    _root: _Node

    def evaluate(self, resolve: Resolver) -> object:
        return _evaluate(self._root, resolve)

    def holds(self, resolve: Resolver) -> bool:
        return truthy(self.evaluate(resolve))

    def references(self) -> tuple[tuple[str, ...], ...]:
        """Every ``Entity.Property…`` path the expression reads, in order."""
        return tuple(dict.fromkeys(_references(self._root)))


def parse_expression(source: str) -> Expression:
    parser = _Parser(_Lexer(source))
    root = parser.parse_or()
    token = parser.take()
    if token.kind != "end":
        raise ExpressionError(
            f"unexpected {token.text!r} after the expression", source, token.position
        )
    return Expression(source, root)


@dataclass(frozen=True)
class Template:
    """Text with ``${…}`` holes, each an expression (usually one property)."""

    source: str
    parts: tuple[str | Expression, ...]

    def render(self, resolve: Resolver, escape: Callable[[str], str] = str) -> str:
        return "".join(
            part if isinstance(part, str) else escape(format_value(part.evaluate(resolve)))
            for part in self.parts
        )

    def references(self) -> tuple[tuple[str, ...], ...]:
        found: dict[tuple[str, ...], None] = {}
        for part in self.parts:
            if isinstance(part, Expression):
                found.update(dict.fromkeys(part.references()))
        return tuple(found)


def parse_template(source: str) -> Template:
    parts: list[str | Expression] = []
    position = 0
    while True:
        start = source.find("${", position)
        if start < 0:
            break
        if start > position:
            parts.append(source[position:start])
        lexer = _Lexer(source, start + 2)
        parser = _Parser(lexer)
        node = parser.parse_reference_block()
        parts.append(Expression(source[start : lexer.position], node))
        position = lexer.position
    if position < len(source):
        parts.append(source[position:])
    return Template(source, tuple(parts))
