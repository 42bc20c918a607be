"""The classic baseline the course contrasts with deep learning: TF-IDF features + logistic regression.

The course material (../shared/course/000_*.txt, "feature engineering vs learned features") counts
words with a ``CountVectorizer`` and fits a random forest before it trains an Embedding-LSTM. Here the
stronger, standard version of that idea runs on the very split the deep model trains and tests on:
TF-IDF of word unigrams + bigrams (English) or character unigrams + bigrams (Chinese), then an
L2-regularised logistic regression. It is a comparison, not a hurdle: on a few thousand to ten
thousand short sentences (rt-polarity, the Chinese reviews) counting words is hard to beat, and it
scores as well as or better than every deep preset dlviz ships (docs/performance.md has the figures,
measured on the de-duplicated split). :func:`comparison` says that in words beside both numbers. It
takes a second or two on a 2-core CPU, so it runs after training without slowing a run noticeably.

No UI here; scikit-learn only (installed with mlxtend).
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Sequence

from dlviz.i18n import N_

NAME = N_("TF-IDF + logistic regression")
FEATURES = {"en": N_("word unigrams and bigrams"), "zh": N_("character unigrams and bigrams")}
# Inverse regularisation strength per language, each chosen on its dataset's VALIDATION split by
# bench/text_recipes.py (C in 1, 3, 10, 30): rt-polarity 74.8 / 77.0 / 77.6 / 77.5%, zh-reviews 85.5 / 85.4 /
# 85.5 / 85.6% (flat). ``C`` set to a number overrides both (the script does, to compare).
C_BY_LANGUAGE = {"en": 10.0, "zh": 30.0}
C: float | None = None
TOP_FEATURES = 12  # the n-grams with the largest weights towards each side, shown to students

# English words (letters, digits, apostrophes inside: "don't" or the pre-split "n't") and punctuation
# marks as tokens: the same idea as the deep models' tokenizer, so "!" and "?" count.
_WORD = re.compile(r"[\w']+|[^\w\s]")


@dataclass
class BaselineResult:
    name: str  # English title (translate with t())
    features: str  # English description of the features (translate with t())
    test_accuracy: float
    seconds: float  # fit + predict, wall clock
    train_size: int
    n_features: int
    # (n-gram, weight) with the largest weights towards the last class (positive) and the first
    top: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _no_space(text: str) -> str:
    return "".join(text.split()).lower()


def vectorizer(language: str):
    """The TF-IDF vectorizer for ``language`` ("en": word 1-2-grams; "zh": character 1-2-grams)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if language == "zh":
        return TfidfVectorizer(
            analyzer="char", ngram_range=(1, 2), preprocessor=_no_space, sublinear_tf=True, dtype=_float32()
        )
    return TfidfVectorizer(
        tokenizer=_words, token_pattern=None, lowercase=False, ngram_range=(1, 2), sublinear_tf=True, dtype=_float32()
    )


def _float32():
    import numpy as np

    return np.float32


def solver_for(n_classes: int) -> str:
    """The logistic regression solver: liblinear for two classes, lbfgs (multinomial) for more."""
    return "liblinear" if n_classes <= 2 else "lbfgs"


def tfidf_baseline(
    train_texts: Sequence[str],
    train_y,
    test_texts: Sequence[str],
    test_y,
    language: str = "en",
    classes: Sequence[str] | None = None,
) -> BaselineResult | None:
    """Fit on the training sentences, score on the test sentences. None if it cannot be fitted
    (fewer than two classes among the training sentences, or no words at all)."""
    from sklearn.linear_model import LogisticRegression

    ytr = [int(v) for v in train_y]
    yte = [int(v) for v in test_y]
    if len(set(ytr)) < 2 or not len(test_texts):
        return None
    t0 = time.perf_counter()
    vec = vectorizer(language)
    try:
        a = vec.fit_transform(list(train_texts))
    except ValueError:  # "empty vocabulary": every sentence empty
        return None
    # liblinear for two classes (the figures in docs/performance.md were measured with it); scikit-learn 1.8+
    # refuses it for three or more, where lbfgs fits the multinomial model
    c = C if C is not None else C_BY_LANGUAGE.get(language, C_BY_LANGUAGE["en"])
    clf = LogisticRegression(C=c, solver=solver_for(len(set(ytr))), max_iter=1000)
    clf.fit(a, ytr)
    pred = clf.predict(vec.transform(list(test_texts)))
    acc = float(sum(int(p == y) for p, y in zip(pred, yte)) / len(yte))
    seconds = time.perf_counter() - t0
    top = {}
    if len(clf.classes_) == 2:
        names = vec.get_feature_names_out()
        w = clf.coef_[0]
        order = w.argsort()
        label = lambda k: classes[k] if classes is not None and k < len(classes) else str(k)
        top = {
            label(int(clf.classes_[1])): [[str(names[i]), round(float(w[i]), 3)] for i in order[::-1][:TOP_FEATURES]],
            label(int(clf.classes_[0])): [[str(names[i]), round(float(w[i]), 3)] for i in order[:TOP_FEATURES]],
        }
    return BaselineResult(NAME, FEATURES.get(language, FEATURES["en"]), acc, seconds, len(ytr), a.shape[1], top)


TIE_POINTS = 1.0  # closer than this (in accuracy points) is called a tie: a different seed moves a deep model
#                    about this much on rt-polarity's 2,132 test sentences


def comparison(baseline_accuracy: float, network_accuracy: float | None, train_size: int) -> tuple[str, dict] | None:
    """One true sentence about the two test accuracies (English template, kwargs), for beside both numbers."""
    if network_accuracy is None or baseline_accuracy is None:
        return None
    diff = 100.0 * (float(network_accuracy) - float(baseline_accuracy))
    n = f"{int(train_size):,}"
    if abs(diff) < TIE_POINTS:
        return (
            N_(
                "The network and the word counts are less than one point apart: a tie on this test set. On {n} "
                "short texts, counting words is hard to beat."
            ),
            {"n": n},
        )
    if diff < 0:
        return (
            N_(
                "On {n} short texts, counting words is hard to beat: the word counts scored {points:.1f} points "
                "higher than the network. Deep models tend to pay off with far more data or with word vectors "
                "learned elsewhere."
            ),
            {"n": n, "points": -diff},
        )
    return (
        N_("The network scored {points:.1f} points higher than counting words on these {n} training texts."),
        {"n": n, "points": diff},
    )
