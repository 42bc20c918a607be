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


# ---------------------------------------------------------------- images: raw pixels and HOG, each + logistic regression

# The course's first tutorial sets hand-made features against learned ones. Two classic pipelines run on the CNN's
# own split: the raw pixels, and HOG features (dlviz.train.hog: gradient directions per 7x7-pixel cell), each
# into an L2-regularised multinomial logistic regression. C for each was chosen on MNIST's VALIDATION split
# (the 20% of the training part every run holds out) by bench/image_baseline.py; docs/performance.md has the grid.
IMAGE_PIPELINES = {
    "pixels": (N_("Raw pixels + logistic regression"), N_("the 784 pixel values")),
    "hog": (N_("HOG + logistic regression"), N_("324 HOG features (gradient directions in 7x7-pixel cells)")),
}
COLOUR_FEATURES = {
    "pixels": N_("the 3,072 values of the photo (32 x 32 pixels x red, green, blue)"),
    "hog": N_("HOG features of the photo's brightness (gradient directions in 7x7-pixel cells)"),
}
IMAGE_C = {"pixels": 0.1, "hog": 10.0}
IMAGE_MAX_ITER = 300


def image_features(kind: str, images):
    """The features of uint8 images (N, H, W) for pipeline ``kind`` ("pixels" or "hog"), float32 (N, d)."""
    import numpy as np

    if kind == "hog":
        from dlviz.train.hog import hog_features

        if images.ndim == 4:  # colour (N, H, W, 3): the HOG of each photo's brightness
            images = images.float().mean(-1).round().byte()
        return hog_features(images)
    return images.reshape(len(images), -1).numpy().astype(np.float32) / 255.0


def fit_image_pipeline(kind: str, train_x, train_y, c: float | None = None):
    """(classifier, seconds to extract the features and fit) of pipeline ``kind`` on uint8 images."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    a = image_features(kind, train_x)
    clf = LogisticRegression(C=IMAGE_C[kind] if c is None else c, max_iter=IMAGE_MAX_ITER)
    # one BLAS thread: beside a training process (or a busy machine) two spinning OpenBLAS threads made a fit on
    # 600 digits take 17 s instead of 0.2 s here
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)  # lbfgs may ask for more iterations; the accuracy is there
        clf.fit(a, [int(v) for v in train_y])
    return clf, time.perf_counter() - t0


def image_accuracy(kind: str, clf, x, y) -> float:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        pred = clf.predict(image_features(kind, x))
    yy = [int(v) for v in y]
    return float(sum(int(p == t) for p, t in zip(pred, yy)) / max(len(yy), 1))


def image_baselines(train_x, train_y, test_x, test_y, kinds=tuple(IMAGE_PIPELINES)) -> list[BaselineResult]:
    """Each classic pipeline fitted on the training images and scored once on the test images ([] with fewer than
    two classes). ``seconds``: features + fit + predict, wall clock."""
    if len(set(int(v) for v in train_y)) < 2 or not len(test_y):
        return []
    out = []
    for kind in kinds:
        t0 = time.perf_counter()
        clf, _ = fit_image_pipeline(kind, train_x, train_y)
        acc = image_accuracy(kind, clf, test_x, test_y)
        name, features = IMAGE_PIPELINES[kind]
        if train_x.ndim == 4:  # colour photos: their own feature counts
            features = COLOUR_FEATURES[kind]
        n_features = int(clf.coef_.shape[1])
        out.append(BaselineResult(name, features, acc, time.perf_counter() - t0, len(train_y), n_features))
    return out


def image_comparison(best_accuracy: float, network_accuracy: float | None) -> tuple[str, dict] | None:
    """One true sentence about the best classic pipeline against the network (English template, kwargs)."""
    if network_accuracy is None or best_accuracy is None:
        return None
    diff = 100.0 * (float(network_accuracy) - float(best_accuracy))
    if abs(diff) < TIE_POINTS:
        return N_("The network and the hand-made features are less than one point apart on these images."), {}
    if diff < 0:
        return (
            N_("The hand-made features scored {points:.1f} points higher than the network on these images."),
            {"points": -diff},
        )
    return (
        N_(
            "The network scored {points:.1f} points higher than the best hand-made features: the filters it learned "
            "from the images serve it better than gradient directions designed by hand."
        ),
        {"points": diff},
    )
