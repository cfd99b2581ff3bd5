"""Self-assessment frameworks: questionnaire answers -> indicator points -> the composite engine.

A framework file may carry, beside its tree, the questions a city answers (as the Council of
Europe's Intercultural Cities Index and UCLG's Culture 21 Actions do):

    [scales.yes_partly_no]          # a named scale: each answer's points (0 to 100)
    yes = 100
    partly = 50
    no = 0

    [scales.extent]                 # a numeric scale: 0..4 mapped linearly to 0..100 points
    range = [0, 4]

    [[question]]
    id = "commitment_1"
    indicator = "commitment"        # the indicator it feeds
    text = "Has the council adopted ...?"
    scale = "yes_partly_no"         # a [scales.X] name, or inline: { yes = 100, no = 0 }
    weight = 1                      # within its indicator (default 1)

    [questionnaire]
    min_answered = 1.0              # share of an indicator's questions a city must answer

An indicator's points are the (weighted) mean of its questions' points, so each indicator is
worth up to 100 points. The result is the wide frame (one row per city, one column per
indicator) the engine scores; no new arithmetic happens after that.

Answers are long: city, question, answer (and optionally a period column, and unit attributes
such as groups, one value per city). A blank answer is the city saying it did not answer: the
question is *missing*, never 0 points, and an indicator with fewer than `min_answered` of its
questions answered is missing too, so the method's imputation, screening and aggregation
rules decide what a gap costs. A question with no row at all is refused instead: a forgotten
row and a deliberate gap must not look the same.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from indicators.composite.spec import Framework, SpecError

ANSWER_COLUMNS = ("question", "answer")
MAX_POINTS = 100.0  # an indicator, like each answer, is worth up to 100 points
QUESTION_KEYS = {"id", "indicator", "text", "scale", "weight"}


@dataclass(frozen=True)
class Scale:
    """Either labelled answers with their points, or a numeric range mapped to 0..100."""

    name: str
    points: dict[str, float]  # casefolded label -> points; empty for a numeric range
    labels: tuple[str, ...] = ()  # as written, for messages
    low: float | None = None
    high: float | None = None

    def to_points(self, answer: str) -> float | None:
        """The answer's points, or None when the answer is not on this scale."""
        if self.low is None:
            return self.points.get(answer.casefold())
        try:
            number = float(answer)
        except ValueError:
            return None
        if not (math.isfinite(number) and self.low <= number <= self.high):
            return None
        return (number - self.low) / (self.high - self.low) * MAX_POINTS

    def expected(self) -> str:
        if self.low is None:
            return f"one of {', '.join(self.labels)}"
        return f"a number from {self.low:g} to {self.high:g}"


@dataclass(frozen=True)
class Question:
    id: str
    indicator: str
    text: str
    scale: Scale
    weight: float = 1.0


@dataclass(frozen=True)
class Questionnaire:
    questions: dict[str, Question]  # in the file's order
    min_answered: float
    source: str


def load_questionnaire(framework: Framework) -> Questionnaire | None:
    """The framework's questionnaire, checked; None when the framework has no [[question]]."""
    raw = framework.questionnaire
    source = framework.source
    if "question" not in raw:
        if raw:
            raise SpecError(f"{source}: {sorted(raw)[0]}: given without any [[question]]")
        return None
    scales = _scales(raw.get("scales", {}), source)
    settings = raw.get("questionnaire", {})
    if not isinstance(settings, dict):
        raise SpecError(f"{source}: questionnaire: expected a table [questionnaire]")
    unknown = sorted(set(settings) - {"min_answered"})
    if unknown:
        raise SpecError(f"{source}: questionnaire: unknown key {unknown[0]!r}; known: "
                        "min_answered")
    min_answered = _number(settings.get("min_answered", 1.0), f"{source}: questionnaire."
                           "min_answered")
    if not 0 < min_answered <= 1:
        raise SpecError(f"{source}: questionnaire.min_answered: expected a share in (0, 1], "
                        f"got {min_answered:g}")
    entries = raw["question"]
    if not isinstance(entries, list):
        raise SpecError(f"{source}: question: expected [[question]] tables")
    questions: dict[str, Question] = {}
    for position, entry in enumerate(entries, start=1):
        question = _question(entry, f"{source}: question #{position}", scales, framework)
        if question.id in questions:
            raise SpecError(f'{source}: question "{question.id}".id: defined twice')
        questions[question.id] = question
    fed = {q.indicator for q in questions.values()}
    for indicator in framework.indicators:
        if indicator not in fed:
            # without a question the indicator would have no column, and the engine would
            # stop on "no column" in the answers: say where the gap really is
            raise SpecError(f'{source}: indicator "{indicator}": no [[question]] feeds it')
    return Questionnaire(questions, min_answered, source)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{where}: {value!r} is not a number")
    return float(value)


def _scales(tables: Any, source: str) -> dict[str, Scale]:
    if not isinstance(tables, dict):
        raise SpecError(f"{source}: scales: expected tables [scales.NAME]")
    return {name: _scale(name, table, f"{source}: scales.{name}")
            for name, table in tables.items()}


def _scale(name: str, table: Any, where: str) -> Scale:
    if not isinstance(table, dict) or not table:
        raise SpecError(f"{where}: expected a table of answer = points, or range = [low, high]")
    if "range" in table:
        bounds = table["range"]
        if len(table) > 1 or not isinstance(bounds, list) or len(bounds) != 2:
            raise SpecError(f"{where}: a numeric scale is range = [low, high] alone")
        low, high = (_number(b, f"{where}.range") for b in bounds)
        if not high > low:
            raise SpecError(f"{where}.range: high must be above low")
        return Scale(name, {}, low=low, high=high)
    points: dict[str, float] = {}
    for label, value in table.items():
        score = _number(value, f"{where}.{label}")
        if not 0 <= score <= MAX_POINTS:
            raise SpecError(f"{where}.{label}: {score:g} points; expected 0 to {MAX_POINTS:g}")
        if label.strip().casefold() in points:
            # answers are matched without regard to case: Yes and yes are one answer
            raise SpecError(f"{where}.{label}: the same answer as another label but for case")
        points[label.strip().casefold()] = score
    return Scale(name, points, tuple(table))


def _question(entry: Any, label: str, scales: dict[str, Scale], framework: Framework
              ) -> Question:
    if not isinstance(entry, dict):
        raise SpecError(f"{label}: expected a table")
    question_id = entry.get("id")
    if not isinstance(question_id, str) or not question_id.strip():
        raise SpecError(f"{label}.id: expected a non-empty text, got {question_id!r}")
    where = f'{framework.source}: question "{question_id}"'
    unknown = sorted(set(entry) - QUESTION_KEYS)
    if unknown:
        raise SpecError(f"{where}: unknown key {unknown[0]!r}; known: "
                        f"{', '.join(sorted(QUESTION_KEYS))}")
    indicator = entry.get("indicator")
    node = framework.nodes.get(indicator) if isinstance(indicator, str) else None
    if node is None or node.kind != "indicator":
        raise SpecError(f"{where}.indicator: no indicator {indicator!r} in {framework.source}")
    text = entry.get("text", "")
    if not isinstance(text, str):
        raise SpecError(f"{where}.text: expected a text")
    scale = entry.get("scale")
    if isinstance(scale, str):
        if scale not in scales:
            known = ", ".join(scales) or "none: define [scales.NAME]"
            raise SpecError(f"{where}.scale: no scale {scale!r}; known: {known}")
        chosen = scales[scale]
    elif isinstance(scale, dict):
        chosen = _scale(f"question {question_id}", scale, f"{where}.scale")
    else:
        raise SpecError(f"{where}.scale: expected a [scales.NAME] name or an inline table")
    weight = _number(entry.get("weight", 1.0), f"{where}.weight")
    if weight <= 0:
        raise SpecError(f"{where}.weight: {weight:g}; expected a number above 0")
    return Question(question_id, indicator, text, chosen, weight)


# Answers -> points --------------------------------------------------------------------------

def answer_text(value: Any) -> str:
    """An answer cell as text: blank for a missing cell, 3 (not 3.0) for a whole number that a
    reader parsed as a float."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _unit_text(value: Any) -> str:
    return "" if pd.isna(value) else str(value).strip()


def answer_points(questionnaire: Questionnaire, answers: pd.DataFrame, *, unit: str,
                  period: str | None = None, source: str = "answers") -> pd.DataFrame:
    """Long answers -> one row per city (and period) and question: points, NaN where the
    city left the answer blank. Every bad answer stops here with one line."""
    keys = [unit] + ([period] if period else [])
    for column in (*keys, *ANSWER_COLUMNS):
        if column not in answers.columns:
            raise SpecError(f"{source}: no column {column!r}; an answer file has the columns "
                            f"{', '.join([*keys, *ANSWER_COLUMNS])}")
    if answers.empty:
        raise SpecError(f"{source}: no answers")
    rows = []
    for position, row in enumerate(answers.to_dict("records"), start=1):
        # a question id read as a number (1.0) is the id written (1)
        city, question_id = _unit_text(row[unit]), answer_text(row["question"])
        at = f"{source}: row {position} of the answers"
        if not city:
            raise SpecError(f"{at}: no {unit}")
        if period and pd.isna(row[period]):
            raise SpecError(f"{at}: {unit} {city!r}: no {period}")
        question = questionnaire.questions.get(question_id)
        if question is None:
            near = difflib.get_close_matches(question_id, list(questionnaire.questions), 1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise SpecError(f"{at}: {unit} {city!r}: no question {question_id!r} in "
                            f"{questionnaire.source}{hint}")
        answer = answer_text(row["answer"])
        points = np.nan if answer == "" else question.scale.to_points(answer)
        if points is None:
            raise SpecError(f"{at}: {unit} {city!r}, question {question_id!r}: {answer!r} is "
                            f"not on its scale; expected {question.scale.expected()}, or a "
                            "blank answer for not answered")
        rows.append({**{k: row[k] for k in keys}, unit: city, "question": question_id,
                     "points": points, "row": position})
    points = pd.DataFrame(rows)
    _check_once_each(points, questionnaire, keys, unit, source)
    return points.drop(columns="row")


def _check_once_each(points: pd.DataFrame, questionnaire: Questionnaire, keys: list[str],
                     unit: str, source: str) -> None:
    """No question answered twice, and every question of the questionnaire has a row for
    every city (and period) in the file."""
    twice = points.duplicated([*keys, "question"], keep=False)
    if twice.any():
        first = points[twice].iloc[0]
        same = points[twice & (points["question"] == first["question"])
                      & (points[keys] == first[keys]).all(axis=1)]["row"].tolist()
        raise SpecError(f"{source}: rows {same[0]} and {same[1]} of the answers: {unit} "
                        f"{first[unit]!r} answers question {first['question']!r} twice; "
                        "expected one answer")
    for key, answered in points.groupby(keys, sort=False)["question"]:
        missing = [q for q in questionnaire.questions if q not in set(answered)]
        if missing:
            city = key[0] if isinstance(key, tuple) else key
            question = questionnaire.questions[missing[0]]
            in_period = f" in {_period_of(key)!r}" if len(keys) > 1 else ""
            raise SpecError(
                f"{source}: {unit} {city!r}{in_period}: no row for question {question.id!r}"
                f"{f' ({len(missing)} questions in all)' if len(missing) > 1 else ''}; "
                f"expected {question.scale.expected()}, or a row with a blank answer if the "
                "city did not answer it"
            )


def _period_of(key: Any) -> Any:
    return key[1] if isinstance(key, tuple) else None


def indicator_points(questionnaire: Questionnaire, points: pd.DataFrame, *, unit: str,
                     period: str | None = None) -> pd.DataFrame:
    """Question points -> one row per city (and period), one column per indicator: the
    weighted mean of its answered questions' points, NaN when fewer than `min_answered` of
    its questions (by weight) were answered."""
    keys = [unit] + ([period] if period else [])
    questions = questionnaire.questions
    frame = points.assign(
        indicator=points["question"].map({q: questions[q].indicator for q in questions}),
        weight=points["question"].map({q: questions[q].weight for q in questions}),
    )
    answered = frame["points"].notna()
    frame["weighted"] = frame["points"].fillna(0.0) * frame["weight"]
    frame["answered_weight"] = frame["weight"].where(answered, 0.0)
    sums = frame.groupby([*keys, "indicator"], sort=False)[
        ["weighted", "answered_weight", "weight"]].sum()
    # a share a hair below the threshold through rounding (three thirds) still counts
    enough = sums["answered_weight"] >= questionnaire.min_answered * sums["weight"] - 1e-12
    mean = (sums["weighted"] / sums["answered_weight"]).where(enough & (sums["answered_weight"]
                                                                         > 0))
    wide = mean.unstack("indicator")
    indicators = list(dict.fromkeys(q.indicator for q in questions.values()))
    return wide.reindex(columns=indicators).rename_axis(columns=None).reset_index()


def answers_to_indicators(questionnaire: Questionnaire, answers: pd.DataFrame, *, unit: str,
                          period: str | None = None, source: str = "answers") -> pd.DataFrame:
    """The wide frame the engine scores: unit, [period,] one column per indicator (points),
    then the answer file's other columns (unit attributes such as groups), one value each."""
    points = answer_points(questionnaire, answers, unit=unit, period=period, source=source)
    wide = indicator_points(questionnaire, points, unit=unit, period=period)
    keys = [unit] + ([period] if period else [])
    attributes = [c for c in answers.columns if c not in (*keys, *ANSWER_COLUMNS)]
    if attributes:
        cities = answers.assign(**{unit: answers[unit].map(_unit_text)})
        for column in attributes:
            values = cities.groupby(unit)[column].nunique(dropna=True)
            if (values > 1).any():
                raise SpecError(f"{source}: column {column!r}: {unit} {values.idxmax()!r} has "
                                "more than one value; expected one per city")
        wide = wide.merge(cities.groupby(keys)[attributes].first().reset_index(), on=keys,
                          how="left")
    return wide
