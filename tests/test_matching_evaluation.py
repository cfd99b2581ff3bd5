"""Matching quality on the labelled WUP 2018 set: the issue's targets for cities of 1M+."""

from __future__ import annotations

import pytest

from flows.evaluate_matching import DEFAULT_WUP, LABELS, evaluate
from warehouse.connect import open_read_only
from warehouse.registry import read_registry

pytestmark = pytest.mark.skipif(not DEFAULT_WUP.is_file(), reason="../shared WUP 2018 F12 absent")


def test_precision_and_recall_meet_the_targets(registry):
    con = open_read_only(registry)
    held = read_registry(con)
    con.close()
    scores, misses = evaluate(DEFAULT_WUP, held)
    assert scores.labelled == 513 == len(LABELS.read_text().splitlines()) - 9
    assert scores.precision >= 0.99, misses
    assert scores.recall >= 0.97, misses
