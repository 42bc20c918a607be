"""The plain-language card: what the model said, where its evidence is, and how far to trust that.

Written for someone who is not an expert, in English or Chinese (every sentence goes through
:func:`dlviz.i18n.translate`). Pure: tensors in, strings out; no streamlit here.

Where the evidence is
    The maps of all methods are summed over channels, each divided by its own largest absolute value
    (so every method has the same say) and averaged. The positive part of that average is the evidence
    FOR the class. Its mass is split over a 3x3 grid of regions (top-left ... bottom-right): the
    strongest region is named, and the second one too when it holds at least half as much. When no
    region holds 20% of the mass (an even spread is 11%), the evidence is "spread over the whole
    image". The share of the mass on the ink (pixels brighter than 0.3) says whether the model looks at
    the strokes (>= 60%), at the empty paper (<= 30%: the missing stroke there matters) or at both.

Two questions, kept apart
    Is the model right? For a test item the true label is known and the card says whether the answer
    matches it ("The model is wrong here: these maps show why it made this mistake"); for a drawn,
    uploaded or typed input nobody knows, and the card says so. Is the explanation faithful? The verdict
    and its badge speak of the explanation only (``BADGES``), in words that cannot be read as "the
    answer is right": a faithful map of a wrong answer is a good explanation of a mistake.

Signed and unsigned maps
    Only signed maps (``Attribution.signed``) count as evidence for or against. Unsigned maps (|gradient|,
    Grad-CAM) say how much a pixel matters, either way: when no signed map is shown the card says where
    the maps put their weight, never "for" or "against".

Verdict (``Card.verdict``), about the explanation only
    doubt   - the explanation is empty; or a randomisation check failed (the map hardly changes when
              the model's weights are randomised, or when the model was trained on shuffled labels, so it
              does not show what the model learned: Adebayo et al. 2018); or two or more checks failed.
    caution - no check of the model (randomisation, deletion/insertion) has been run yet: completeness comes
              free with the method and does not check the model; or one check (completeness,
              deletion/insertion) failed; or the methods disagree (mean rank correlation below 0.25).
    trust   - a check of the model ran, every check that ran passed, and the methods do not disagree.

One builder
    :func:`build_card` writes every card; what the maps say is the input's own part (:func:`image_evidence`
    for an image, :func:`dlviz.explain.text.word_evidence` for words), everything else is said once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from dlviz.i18n import N_, translate

INK = 0.3  # a pixel brighter than this is ink (MNIST: 1 = ink, 0 = paper)
ON_INK = 0.6  # share of the evidence on ink above which we say "on the strokes"
ON_PAPER = 0.3  # ... below which we say "on the empty paper"
SPREAD = 0.2  # no region holds this share: "spread over the whole image"
MOSTLY = 0.5  # the named regions hold this share: "mostly ..."
AGREE = 0.5  # mean rank correlation: "the methods agree"
DISAGREE = 0.25  # below this: "the methods disagree"
AGAINST = 0.3  # negative share of the signed mass above which the card names the evidence against
UNSURE = 0.6  # top probability below this: "the model is unsure"

REGIONS = (
    N_("the top-left"),
    N_("the top"),
    N_("the top-right"),
    N_("the left"),
    N_("the centre"),
    N_("the right"),
    N_("the bottom-left"),
    N_("the bottom"),
    N_("the bottom-right"),
)
VERDICTS = {"trust": N_("passed its checks"), "caution": N_("read it with care"), "doubt": N_("not reliable")}
# the badge: about the explanation, never about whether the answer is right
BADGES = {
    "trust": N_("Explanation passed its checks"),
    "caution": N_("Explanation: read with care"),
    "doubt": N_("Explanation not reliable"),
}
SOURCES = {
    "drawn": N_("your drawing"),
    "uploaded": N_("an uploaded image"),
    "upload": N_("an uploaded image"),
    "typed": N_("a typed sentence"),
    "edited": N_("an edited image"),
}


@dataclass
class Card:
    headline: str
    lines: list[str] = field(default_factory=list)
    verdict: str = "caution"  # "trust" | "caution" | "doubt"
    check_lines: list[str] = field(default_factory=list)  # the lines of ``lines`` that report sanity checks
    correct: bool | None = None  # is the model right? None: nobody knows (a drawn, uploaded or typed input)
    correctness: str = ""  # the line that answers "is the model right?" (also in ``lines``)
    verdict_line: str = ""  # the last line: how far the explanation (not the answer) can be trusted

    @property
    def word_lines(self) -> list[str]:
        """The lines about the answer and what the maps say (no checks, no verdict)."""
        return [x for x in self.lines if x not in self.check_lines and x != self.verdict_line]


def verdict_title(verdict: str, lang: str = "en") -> str:
    """The verdict as a translated badge about the explanation ("Explanation passed its checks", ...)."""
    return translate(BADGES.get(verdict, BADGES["caution"]), lang)


def verdict_sentence(verdict: str, reason: str, lang: str = "en") -> str:
    """The card's last line: how far to trust the explanation, said so that it cannot be read about the answer."""
    return translate(
        "About the explanation, not the answer: {verdict}. {reason}",
        lang,
        verdict=translate(VERDICTS.get(verdict, VERDICTS["caution"]), lang),
        reason=reason,
    )


def correctness_lines(
    name, p: torch.Tensor, pred: int, label: int | None, source: str | None, lang: str = "en"
) -> tuple[bool | None, str, list[str]]:
    """(correct, the line that answers "is the model right?", extra lines for a wrong or unsure answer).

    ``label`` is the true class of a test item; None for an input nobody labelled (``source`` says what it
    is: "drawn", "uploaded", "typed", "edited")."""
    extra: list[str] = []
    if label is None:
        what = translate(SOURCES.get(source or "", N_("your own input")), lang)
        line = translate(
            "Is the model right? Unknown: this is {what}, so there is no true answer to compare with.", lang, what=what
        )
        correct = None
    elif int(label) == pred:
        line = translate("Is the model right? Yes: the true label is {label}.", lang, label=name(int(label)))
        correct = True
    else:
        line = translate(
            "Is the model right? No: the true label is {label}, the model says {pred}.",
            lang,
            label=name(int(label)),
            pred=name(pred),
        )
        extra.append(translate("The model is wrong here: these maps show why it made this mistake.", lang))
        correct = False
    if float(p[pred]) < UNSURE:
        extra.append(
            translate(
                "The model is unsure here: its top choice gets only {p}, so these maps show what it "
                "weighed, not a confident reason.",
                lang,
                p=_pct(float(p[pred])),
            )
        )
    return correct, line, extra


def _plane(a) -> np.ndarray:
    """A map (H, W) or (C, H, W) as an (H, W) float array (channels summed)."""
    a = a.detach().cpu().float().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=np.float32)
    return a.sum(axis=0) if a.ndim == 3 else a


def _pct(p: float) -> str:
    """A probability as a percentage that never claims certainty it does not have (99.97% is '>99%')."""
    if p >= 0.995 and p < 1.0:
        return ">99%"
    if 0 < p < 0.005:
        return "<1%"
    return f"{p:.0%}"


def region_shares(amap) -> np.ndarray:
    """The share of the positive mass of ``amap`` (H, W) in each cell of a 3x3 grid, row by row (sums to 1).

    All zeros when the map has no positive mass.
    """
    pos = np.clip(_plane(amap), 0, None)
    total = float(pos.sum())
    rows = np.array_split(np.arange(pos.shape[0]), 3)
    cols = np.array_split(np.arange(pos.shape[1]), 3)
    shares = np.array([pos[np.ix_(r, c)].sum() for r in rows for c in cols], dtype=np.float64)
    return shares / total if total > 0 else shares * 0


def ink_share(amap, image) -> float | None:
    """The share of the positive mass of ``amap`` that lies on ink (``image`` > 0.3); None without mass."""
    pos = np.clip(_plane(amap), 0, None)
    total = float(pos.sum())
    if total <= 0:
        return None
    img = _plane(image)
    if img.shape != pos.shape:
        raise ValueError(f"map {pos.shape} and image {img.shape} differ in shape")
    return float(pos[img > INK].sum() / total)


def evidence_words(amap, image, lang: str = "en", matters: bool = False) -> str:
    """Where the positive evidence of ``amap`` (H, W) lies, in words, e.g. "mostly the top-left, on the strokes".

    ``image`` (H, W) in [0, 1] (1 = ink). The rules are in the module docstring.
    """
    shares = region_shares(amap)
    on_ink = ink_share(amap, image)
    if on_ink is None:
        return (
            translate("nowhere: this map is zero everywhere", lang)
            if matters
            else translate("nowhere: this map has no evidence for the class", lang)
        )
    order = np.argsort(-shares, kind="stable")
    first, second = int(order[0]), int(order[1])
    if shares[first] < SPREAD:
        where = translate("spread over the whole image", lang)
    else:
        named = translate(REGIONS[first], lang)
        held = shares[first]
        if shares[second] >= 0.5 * shares[first]:
            named = translate("{a} and {b}", lang, a=named, b=translate(REGIONS[second], lang))
            held += shares[second]
        where = (
            translate("mostly {where}", lang, where=named)
            if held >= MOSTLY
            else translate("most in {where}, but spread out", lang, where=named)
        )
    if len(getattr(image, "shape", ())) == 3 and image.shape[0] == 3:
        return where  # a colour photo (3, H, W) has no ink and paper: only where the evidence lies is said
    if on_ink >= ON_INK:
        return translate("{where}, on the strokes", lang, where=where)
    if on_ink <= ON_PAPER:
        return translate("{where}, on the empty paper: a missing stroke there matters", lang, where=where)
    return translate("{where}, on the strokes and the empty paper around them", lang, where=where)


def _method_title(key: str, attr, lang: str) -> str:
    from dlviz.explain.registry import METHODS

    m = METHODS.get(getattr(attr, "method", key))
    return translate(m.title, lang) if m is not None else str(key)


def _combined(attributions: dict, signed: bool | None = None) -> tuple[np.ndarray | None, list[str]]:
    """The average of the non-empty maps, each scaled to [-1, 1] by its own max |value|; and the empty ones.
    ``signed``: only the signed maps (True), only the unsigned ones (False), or all (None)."""
    planes, empty = [], []
    for key, a in attributions.items():
        p = _plane(a.map)
        m = float(np.abs(p).max()) if p.size else 0.0
        if not np.isfinite(m) or m <= 1e-12:
            empty.append(key)
            continue
        if signed is not None and bool(getattr(a, "signed", True)) != signed:
            continue
        planes.append(p / m)
    return (np.mean(planes, axis=0) if planes else None), empty


@dataclass
class Reading:
    """What the maps of one input say, in words (a card's middle part), and about what."""

    lines: list[str]
    nothing: bool  # nothing to read: every map is empty
    parts: int  # pixels or words in the input (fewer than 3: an agreement of rankings says nothing)
    unit: str  # "pixels" | "words": how the checks' sentences name them


def image_evidence(image, attributions: dict, target: int, contrast: int | None, name, lang: str) -> Reading:
    """What the maps of an image say, in words. The rules are in the module docstring."""
    lines: list[str] = []
    img = _plane(image)
    colour = len(getattr(image, "shape", ())) == 3 and image.shape[0] == 3
    shown = image if colour else img  # a colour photo (3, H, W): its words name no ink or paper
    reading = lambda nothing: Reading(lines, nothing, int(img.size), "pixels")  # noqa: E731
    blank = not (img.size and float(np.abs(img).max()) > 1e-6)
    combined, empty = _combined(attributions)
    signed_combined, _ = _combined(attributions, signed=True)
    if combined is None:
        if not attributions:
            lines.append(translate("The explanation is empty: no method was run.", lang))
        elif blank:
            lines.append(
                translate(
                    "The explanation is empty: the image is blank, and against a black baseline an "
                    "all-black image has nothing to attribute (every pixel equals the baseline).",
                    lang,
                )
            )
        else:
            lines.append(
                translate(
                    "The explanation is empty: every map is zero, so these pixels do not move the "
                    "score the methods look at.",
                    lang,
                )
            )
        return reading(True)
    for key in empty:
        lines.append(
            translate(
                "{method} gave an empty map (zero everywhere).",
                lang,
                method=_method_title(key, attributions[key], lang),
            )
        )
    if blank:
        lines.append(
            translate("The image is blank: there is no ink, so any evidence is about strokes that are missing.", lang)
        )
    unsigned = [k for k, a in attributions.items() if not getattr(a, "signed", True) and k not in empty]
    if signed_combined is None:
        # only unsigned maps: how much each pixel matters, either way; never "for" or "against"
        lines.append(
            translate(
                "Where it matters, either way (these maps have no sign): {words}.",
                lang,
                words=evidence_words(combined, shown, lang, matters=True),
            )
        )
        return reading(False)
    combined = signed_combined
    words = evidence_words(combined, shown, lang)
    if contrast is None:
        lines.append(translate("Evidence for {target}: {words}.", lang, target=name(target), words=words))
    else:
        lines.append(
            translate("Evidence for {a} rather than {b}: {words}.", lang, a=name(target), b=name(contrast), words=words)
        )
    if unsigned:
        titles = translate(", ", lang).join(_method_title(k, attributions[k], lang) for k in unsigned)
        one = (
            "{methods} shows how much each pixel matters, not which way, so it is left out of the evidence for "
            "and against."
        )
        many = (
            "{methods} show how much each pixel matters, not which way, so they are left out of the evidence for "
            "and against."
        )
        lines.append(translate(one if len(unsigned) == 1 else many, lang, methods=titles))
    absmass = float(np.abs(combined).sum())
    neg = float(np.clip(-combined, 0, None).sum())
    if absmass > 0 and neg / absmass >= AGAINST:
        against = evidence_words(-combined, shown, lang)
        if contrast is None:
            lines.append(translate("Evidence against {target}: {words}.", lang, target=name(target), words=against))
        else:
            lines.append(translate("Evidence for {b} instead: {words}.", lang, b=name(contrast), words=against))
    return reading(False)


def make_card(
    classes: list[str], probs, target: int, contrast: int | None, image, attributions: dict, agreement, *checks, **kw
) -> Card:
    """The card for one explanation of an image (:func:`build_card` with :func:`image_evidence`). ``probs`` (K,)
    are the model's class probabilities for ``image`` (H, W); ``attributions`` maps a method key to its
    :class:`~dlviz.explain.registry.Attribution` (all for ``target``, and ``contrast`` if given); ``agreement``
    is their mean rank correlation (None for one method); then the checks and the rest as :func:`build_card`
    takes them (``label``: the true class of a test item, None when nobody knows it; ``source``: "drawn",
    "uploaded", "edited")."""

    def evidence(name, lang):
        return image_evidence(image, attributions, target, contrast, name, lang)

    return build_card(classes, probs, target, contrast, attributions, agreement, evidence, *checks, **kw)


def build_card(
    classes: list[str],
    probs,
    target: int,
    contrast: int | None,
    attributions: dict,
    agreement: float | None,
    evidence,
    completeness=None,
    randomisation=None,
    curves=None,
    lang: str = "en",
    label: int | None = None,
    source: str | None = None,
    data_randomisation=None,
    fidelity=None,
    too_short: bool = False,
) -> Card:
    """The one card builder, for every kind of input: the answer and whether it is right, what the maps say
    (``evidence(name, lang)`` -> a :class:`Reading`: :func:`image_evidence`, or
    :func:`dlviz.explain.text.word_evidence`), whether the methods agree (only with at least 3 parts, pixels or
    words: a rank needs them), one line per sanity check (None: not run; ``too_short``: the sentence was too
    short for the checks of the model) and the verdict on the explanation (module docstring)."""
    p = torch.as_tensor(probs).detach().float().flatten()
    pred = int(p.argmax())
    name = lambda i: str(classes[i]) if 0 <= i < len(classes) else str(i)  # noqa: E731
    pct = lambda i: _pct(float(p[i]))  # noqa: E731
    lines: list[str] = []
    if contrast is None:
        headline = translate("The model says {pred} ({p} sure).", lang, pred=name(pred), p=pct(pred))
        if target != pred:
            lines.append(
                translate(
                    "This explains class {target} ({p}), not the model's answer.",
                    lang,
                    target=name(target),
                    p=pct(target),
                )
            )
    else:
        headline = translate(
            "Why {a} and not {b}? The model says {pred} ({p} sure).",
            lang,
            a=name(target),
            b=name(contrast),
            pred=name(pred),
            p=pct(pred),
        )
        lines.append(
            translate(
                "{a} gets {pa}, {b} gets {pb}.",
                lang,
                a=name(target),
                pa=pct(target),
                b=name(contrast),
                pb=pct(contrast),
            )
        )
    correct, correctness, extra = correctness_lines(name, p, pred, label, source, lang)
    reading = evidence(name, lang)
    nothing, unit = reading.nothing, reading.unit
    lines = [correctness] + extra + lines + reading.lines

    disagree = False
    shown = [k for k, a in attributions.items() if float(np.abs(_plane(a.map)).max(initial=0.0)) > 1e-12]
    if reading.parts < 3:
        pass  # too few parts to rank: an agreement says nothing
    elif agreement is None or not np.isfinite(agreement):
        if len(shown) >= 2:
            lines.append(translate("How well the methods agree is not known yet.", lang))
        elif attributions:
            lines.append(translate("Only one method: add another to see whether they agree.", lang))
    elif agreement >= AGREE:
        lines.append(translate("The methods agree ({r:.2f}).", lang, r=agreement))
    elif agreement >= DISAGREE:
        lines.append(translate("The methods partly agree ({r:.2f}).", lang, r=agreement))
    else:
        disagree = True
        lines.append(translate("The methods disagree ({r:.2f}): read with care.", lang, r=agreement))

    # sanity checks, one line each; completeness comes free with the method, so "trust" needs a check of the model
    notes: list[str] = []
    failed: list[str] = []
    if completeness is not None:
        if not completeness.passed:
            failed.append("completeness")
        notes.append(completeness_sentence(completeness, lang, unit))
    for r in (randomisation, data_randomisation):
        if r is not None:
            if not r.passed:
                failed.append("randomisation")
            notes.append(randomisation_sentence(r, lang, unit))
    if curves is not None:
        if not curves.passed:
            failed.append("curves")
        notes.append(curves_sentence(curves, lang, unit))
    if fidelity is not None:  # references beside a random explanation, not pass/fail: they leave the verdict alone
        notes += fidelity_sentences(fidelity, lang, unit)
    if too_short:
        notes.append(
            translate(
                "The sentence is too short for the randomisation and deletion checks (they need at least 3 words).",
                lang,
            )
        )
    model_checks = sum(c is not None for c in (randomisation, data_randomisation, curves))
    if not model_checks and not too_short and not nothing:
        notes.append(
            translate("No sanity check has been run yet.", lang)
            if completeness is None
            else translate("The randomisation and deletion checks have not been run yet.", lang)
        )
    verdict, reason = _verdict(nothing, model_checks, failed, disagree, lang)
    verdict_line = verdict_sentence(verdict, reason, lang)
    return Card(headline, lines + notes + [verdict_line], verdict, notes, correct, correctness, verdict_line)


def randomisation_sentence(r, lang: str = "en", unit: str = "pixels") -> str:
    """One plain line for a model- or data-randomisation result: what it means first, the numbers after."""
    last = float(r.similarity[-1]) if len(r.similarity) else float("nan")
    data = getattr(r, "kind", "model") == "data"
    if r.passed:
        text = (
            translate(
                "Data randomisation check passed: a model trained on shuffled labels gives a different "
                "map, so this map shows what the model learned from the real labels.",
                lang,
            )
            if data
            else translate(
                "Randomisation check passed: scramble the model's learned weights and this map turns "
                "into a different one, so it shows what the model learned.",
                lang,
            )
        )
    else:
        text = (
            translate(
                "Data randomisation check failed: a model trained on shuffled labels gives much the same "
                "map, so this map shows the input more than what the model learned.",
                lang,
            )
            if data
            else translate(
                "Randomisation check failed: this map barely depends on what the model learned; it "
                "shows the input more than the model.",
                lang,
            )
        )
    if unit == "words":
        return (
            text
            + " "
            + translate(
                "(Left of the original word scores: {s:.2f} out of 1; to pass it had to stay below {bar:.2f}.)",
                lang,
                s=last,
                bar=float(getattr(r, "bar", 0.5)),
            )
        )
    return (
        text
        + " "
        + translate(
            "(Left of the original map: {s:.2f} out of 1; to pass it had to stay below {bar:.2f}.)",
            lang,
            s=last,
            bar=float(getattr(r, "bar", 0.5)),
        )
    )


FIDELITY_LINES = {  # (infidelity, sensitivity), per unit: what each number means first, the numbers after
    "pixels": (
        N_(
            "Infidelity (how badly the map predicts what small changes to the image do to the score; lower is "
            "better): {v:.3g}, against {r:.3g} for a random map."
        ),
        N_(
            "Sensitivity (how much the map itself changes when the image barely moves; lower is better): {v:.2f}, "
            "against {r:.2f} for a random map."
        ),
    ),
    "words": (
        N_(
            "Infidelity (how badly the word scores predict what fading the words a little does to the score; lower "
            "is better): {v:.3g}, against {r:.3g} for random scores."
        ),
        N_(
            "Sensitivity (how much the word scores themselves change when the words fade a little; lower is "
            "better): {v:.2f}, against {r:.2f} for random scores."
        ),
    ),
}


def fidelity_sentences(f, lang: str = "en", unit: str = "pixels") -> list[str]:
    """Two plain lines for captum's infidelity and max-sensitivity (:class:`dlviz.explain.checks.Fidelity`), each
    beside a random explanation's value: references, not pass/fail (docs/explain-checks.md)."""
    inf, sens = FIDELITY_LINES["words" if unit == "words" else "pixels"]
    out = [translate(inf, lang, v=f.infidelity, r=f.random_infidelity)]
    if np.isfinite(f.sensitivity):
        out.append(translate(sens, lang, v=f.sensitivity, r=f.random_sensitivity))
    else:
        out.append(
            translate(
                "Sensitivity is not measured for occlusion that removes words: a removed word moves the words "
                "before it, so a word has no fixed place to fade.",
                lang,
            )
        )
    return out


def completeness_sentence(c, lang: str = "en", unit: str = "pixels") -> str:
    """One plain line for the completeness check (:class:`dlviz.explain.checks.Completeness`)."""
    off = _pct_abs(c.relative)
    words = unit == "words"
    if c.passed:
        return (
            translate(
                "Completeness check passed: the words' scores add up to the change in the score (off by {off}).",
                lang,
                off=off,
            )
            if words
            else translate(
                "Completeness check passed: the map adds up to the change in the score (off by {off}).", lang, off=off
            )
        )
    kw = dict(s=c.attribution_sum, d=c.output_difference, off=off)
    return (
        translate(
            "Completeness check failed: the words' scores add up to {s:.3g}, but the "
            "score changed by {d:.3g} (off by {off}); try more steps.",
            lang,
            **kw,
        )
        if words
        else translate(
            "Completeness check failed: the map adds up to {s:.3g}, but the score changed "
            "by {d:.3g} (off by {off}); try more steps.",
            lang,
            **kw,
        )
    )


def curves_sentence(c, lang: str = "en", unit: str = "pixels") -> str:
    """One plain line for the deletion and insertion curves: the average confidence, not "area"."""
    kw = dict(
        d=_pct(c.deletion_auc), rd=_pct(c.random_deletion_auc), i=_pct(c.insertion_auc), ri=_pct(c.random_insertion_auc)
    )
    words = unit == "words"
    if c.passed:
        return (
            translate(
                "Deletion and insertion check passed: removing the top-scored words first makes the "
                "model lose its answer faster than removing random words (on average it keeps {d} of "
                "its confidence, against {rd}; built back from the top words it reaches {i}, against "
                "{ri}).",
                lang,
                **kw,
            )
            if words
            else translate(
                "Deletion and insertion check passed: hiding the pixels this map points at first makes "
                "the model lose its answer faster than hiding random pixels (on average it keeps {d} "
                "of its confidence, against {rd}; shown only those pixels it reaches {i}, against "
                "{ri}).",
                lang,
                **kw,
            )
        )
    return (
        translate(
            "Deletion and insertion check failed: the top-scored words matter no more than random ones "
            "(on average the model keeps {d} of its confidence without them, against {rd} for random "
            "words; {i} against {ri} built back from them).",
            lang,
            **kw,
        )
        if words
        else translate(
            "Deletion and insertion check failed: the pixels this map points at matter no more than "
            "random ones (on average the model keeps {d} of its confidence without them, against {rd} "
            "for random pixels; {i} against {ri} shown only them).",
            lang,
            **kw,
        )
    )


def _pct_abs(r: float) -> str:
    r = abs(float(r))
    return "<0.1%" if r < 0.001 else f"{r:.1%}"


def _verdict(empty: bool, ran: int, failed: list[str], disagree: bool, lang: str) -> tuple[str, str]:
    """(verdict, reason): the rule in the module docstring."""
    if empty:
        return "doubt", translate("There is nothing to read in an empty map.", lang)
    if "randomisation" in failed:
        return "doubt", translate("The map does not depend on what the model learned.", lang)
    if len(failed) >= 2:
        return "doubt", translate("Two or more sanity checks failed.", lang)
    if ran == 0:
        return "caution", translate("Run the sanity checks before you rely on this map.", lang)
    if failed:
        return "caution", translate("One sanity check failed.", lang)
    if disagree:
        return "caution", translate("The checks passed, but the methods disagree.", lang)
    return "trust", translate("The sanity checks passed and the methods do not contradict each other.", lang)
