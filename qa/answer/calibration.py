"""Calibrated confidence: the probability that the reader's answer is right, from its evidence.

Answers are scored as the CRAG benchmark scores them (right +1, refused 0, wrong -1), so an
answer is worth giving only when it is more likely right than wrong. That needs a probability,
not a support score whose scale means nothing: a logistic model over the evidence for the
picked answer (its votes and the margin it wins by, its sentence's support, where the question's
words stand, whether its kind fits the question...), fitted on dated news quizzes and the seed
calibration file, and shipped as data (`data/calibration.json`: the weights, the feature
scaling, and what it was fitted on).

The model is a dozen numbers, read with numpy; `fit` (Newton's method on the L2-penalised log
loss, each weight held to the side `DIRECTION` gives it) runs only in `qa bench --calibrate`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).parent / "data" / "calibration.json"

KIND_GROUPS: Mapping[str, str] = {
    "person": "person", "who": "person", "organisation": "organisation", "place": "place",
    "work": "named", "event": "named", "name": "named", "amount": "number", "percent": "number",
    "count": "number", "duration": "number", "score": "number", "date": "date", "year": "date",
}
"""Asked kinds grouped by what answers them; a question with no typed answer (why, how, a
listing, an acronym's long form) is its own group, "sentence"."""

FEATURES: tuple[str, ...] = (
    "log_votes",  # the candidate's pooled votes (log)
    "support",  # its best sentence's support
    "lexical",  # the share of the question's words (by rarity) that sentence or passage holds
    "semantic",  # that sentence's word-vector similarity to the question
    "passage",  # its passage's embedding similarity to the question
    "coverage",  # the share of the question's words (by rarity) in the sentence itself
    "kind_fit",  # how well its kind fits the asked kind (the lexicon's `accepts`)
    "near",  # the share of the question's words (by rarity) standing next to it
    "head",  # the question's head noun stands next to it
    "named",  # the share of its words the question already names
    "passage_rank",  # 1 / (1 + the rank of its best sentence's passage)
    "top_sentence",  # its best sentence is the best-supported sentence of all
    "stands_out",  # how far that sentence's support is above the median of the best ten
    "length",  # its words (log)
    "rival",  # the runner-up's votes over its own (log): the margin it wins by
    "in_top_sentence",  # the best-supported sentence of all names it
    "corpus_size",  # chunks in the store (log10): the more articles, the more near misses
    "sentence_answer",  # the answer is the sentence itself, with no short span
    *(f"asked_{group}" for group in sorted({*KIND_GROUPS.values(), "sentence"})),
)


DIRECTION: Mapping[str, int] = {
    "log_votes": 1, "support": 1, "lexical": 1, "semantic": 1, "passage": 1, "coverage": 1,
    "kind_fit": 1, "near": 1, "head": 1, "named": -1, "passage_rank": 1, "top_sentence": 1,
    "stands_out": 1, "rival": -1, "in_top_sentence": 1, "corpus_size": -1,
}
"""The side each weight must keep: more evidence for an answer (more votes, more of the
question's words beside it, a better-ranked sentence) never makes it less likely right, and a
closer rival or a larger store never more. Without it, the fit gave lexical overlap and the
best-ranked sentence negative weights, artefacts of the two sources it mixes that turned away
right answers on the seed articles. Length, the no-span answer and the asked kinds may go
either way."""


@dataclass(frozen=True)
class Model:
    """A logistic model over `FEATURES`: standardised inputs, weights, bias."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    fitted_on: Mapping[str, Any]

    def probability(self, features: Mapping[str, float]) -> float:
        """P(right) of one candidate."""
        x = (vector(features) - self.mean) / self.scale
        return float(1.0 / (1.0 + math.exp(-float(x @ self.weights + self.bias))))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "weights": [round(float(v), 6) for v in self.weights],
            "bias": round(self.bias, 6),
            "fitted_on": dict(self.fitted_on),
        }


def neutral() -> Model:
    """A model that knows nothing (every answer 0.5): what the reader runs with while the
    examples for a new fit are read, whatever the shipped model was fitted on."""
    n = len(FEATURES)
    return Model(np.zeros(n), np.ones(n), np.zeros(n), 0.0, {})


def vector(features: Mapping[str, float]) -> np.ndarray:
    """The features in `FEATURES` order; a missing one is 0."""
    return np.array([float(features.get(name, 0.0)) for name in FEATURES])


def asked_group(kind: str | None) -> str:
    return KIND_GROUPS.get(kind or "", "sentence")


@lru_cache(maxsize=4)
def load(path: Path | None = None) -> Model:
    """The model at `path` (the shipped one when None). Its feature list must be this code's:
    a model fitted on other features would read the wrong numbers, so that is an error, not a
    guess."""
    path = path or DATA
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{path} was fitted on other features; refit it (qa bench --calibrate)")
    return Model(
        mean=np.array(data["mean"], dtype=float),
        scale=np.array(data["scale"], dtype=float),
        weights=np.array(data["weights"], dtype=float),
        bias=float(data["bias"]),
        fitted_on=data.get("fitted_on", {}),
    )


def fit(
    rows: Sequence[Mapping[str, float]],
    labels: Sequence[bool],
    l2: float,
    fitted_on: Mapping[str, Any],
    sample_weights: Sequence[float] | None = None,
    iterations: int = 50,
) -> Model:
    """The L2-penalised logistic model of `labels` given `rows` (each weighted, 1 by default),
    with every weight on the side `DIRECTION` gives it: the feature most against its
    direction is left out (weight 0) and the rest refitted, until none is."""
    x = np.stack([vector(r) for r in rows])
    y = np.array(labels, dtype=float)
    w = np.ones(len(y)) if sample_weights is None else np.array(sample_weights, dtype=float)
    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
    z = (x - mean) / scale
    direction = np.array([DIRECTION.get(name, 0) for name in FEATURES], dtype=float)
    kept = np.ones(len(FEATURES), dtype=bool)
    while True:
        theta = _newton(z[:, kept], y, w, l2, iterations)
        weights = np.zeros(len(FEATURES))
        weights[kept] = theta[:-1]
        against = direction * weights
        if against.min() >= 0:
            return Model(mean, scale, weights, float(theta[-1]), fitted_on)
        kept[int(np.argmin(against))] = False


def _newton(z: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float, iterations: int
            ) -> np.ndarray:
    """The weights (bias last, not shrunk) minimising the weighted, L2-penalised log loss."""
    z = np.hstack([z, np.ones((len(z), 1))])
    theta = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(z @ theta)))
        gradient = z.T @ (w * (p - y)) + penalty * theta
        hessian = (z * (w * p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return theta
