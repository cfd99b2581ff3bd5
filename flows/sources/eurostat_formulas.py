"""Eurostat's derived city indicators, computed with Eurostat's own formulas.

The Urban Audit metadata annex (urb_esms_an2) states each derived indicator as a numerator and
a denominator written in variable codes, e.g. CR1003I = "CR1003V*1000" / "DE1001V", and
DE1061I = "(DE1001V (t) - DE1001V (t-1)) * 100" / "DE1001V (t-1)". The text comes from a file,
so it is parsed into a small expression tree (numbers, variable codes with an optional year
lag, + - * / and parentheses) and evaluated over frames; it is never handed to eval().
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd


class FormulaError(ValueError):
    """A formula outside the small grammar; the message says where and what was expected."""


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Variable:
    code: str  # e.g. 'DE1001V'
    lag: int = 0  # years back: 'DE1001V (t-1)' has lag 1


@dataclass(frozen=True)
class Operation:
    operator: str  # one of + - * /
    left: Expression
    right: Expression


Expression = Number | Variable | Operation

# The annex writes one code with a stray space ("DE 1058V"); it is the same variable.
_TOKEN = re.compile(
    r"\s*(?:(?P<variable>[A-Z]{2}\s?\d{4}[VI])(?:\s*\(\s*t\s*(?:-\s*(?P<lag>\d+))?\s*\))?"
    r"|(?P<number>\d+(?:\.\d+)?)|(?P<symbol>[-+*/()]))"
)


def parse_formula(text: str) -> Expression:
    """The expression tree of one formula text, or FormulaError naming the character."""
    tokens = _tokens(text)
    expression, at = _sum(tokens, 0, text)
    if at != len(tokens):
        raise FormulaError(f"character {tokens[at][2] + 1} of {text!r}: expected + - * / or end")
    return expression


def derived(numerator: str, denominator: str) -> Expression:
    """numerator / denominator, each parsed: how the annex defines every derived indicator."""
    return Operation("/", parse_formula(numerator), parse_formula(denominator))


def variables(expression: Expression) -> set[Variable]:
    if isinstance(expression, Variable):
        return {expression}
    if isinstance(expression, Operation):
        return variables(expression.left) | variables(expression.right)
    return set()


def evaluate(expression: Expression, column) -> pd.Series | float:
    """The expression's value with `column(variable)` giving each variable's values (Series
    aligned on one index); a missing input leaves the result missing (NaN)."""
    if isinstance(expression, Number):
        return expression.value
    if isinstance(expression, Variable):
        return column(expression)
    left, right = evaluate(expression.left, column), evaluate(expression.right, column)
    if expression.operator == "+":
        return left + right
    if expression.operator == "-":
        return left - right
    if expression.operator == "*":
        return left * right
    return left / right


def _tokens(text: str) -> list[tuple[str, object, int]]:
    tokens, at, end = [], 0, len(text.rstrip())
    while at < end:
        found = _TOKEN.match(text, at)
        start = at + len(text[at:]) - len(text[at:].lstrip())
        if found is None:
            raise FormulaError(
                f"character {start + 1} of {text!r}: expected a variable code such as DE1001V, "
                "a number, an operator or a parenthesis"
            )
        if found["variable"]:
            code = found["variable"].replace(" ", "")
            tokens.append(("variable", Variable(code, int(found["lag"] or 0)), start))
        elif found["number"]:
            tokens.append(("number", Number(float(found["number"])), start))
        else:
            tokens.append(("symbol", found["symbol"], start))
        at = found.end()
    return tokens


def _sum(tokens, at, text):
    return _chain(tokens, at, text, ("+", "-"), _product)


def _product(tokens, at, text):
    return _chain(tokens, at, text, ("*", "/"), _operand)


def _chain(tokens, at, text, operators, operand):
    """Operands joined by operators of one precedence, left to right."""
    left, at = operand(tokens, at, text)
    while at < len(tokens) and tokens[at][1] in operators:
        right, after = operand(tokens, at + 1, text)
        left, at = Operation(tokens[at][1], left, right), after
    return left, at


def _operand(tokens, at, text):
    if at >= len(tokens):
        raise FormulaError(f"end of {text!r}: expected a variable, a number or '('")
    kind, value, position = tokens[at]
    if kind in ("variable", "number"):
        return value, at + 1
    if value == "(":
        inner, after = _sum(tokens, at + 1, text)
        if after >= len(tokens) or tokens[after][1] != ")":
            raise FormulaError(f"character {position + 1} of {text!r}: '(' is never closed")
        return inner, after + 1
    raise FormulaError(
        f"character {position + 1} of {text!r}: expected a variable, a number or '(', "
        f"found {value!r}"
    )
