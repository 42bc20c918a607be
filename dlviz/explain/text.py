"""Which words mattered: attributions for text models, one score per token.

``attribute_text(model, ids, target, method, contrast=None, **settings)`` explains one sentence, given as
its pre-padded ids (L,) (PAD = 0 at the start, the last real token at L-1), for a model whose first layer
is an ``nn.Embedding`` (named "embedding_1" in dlviz models). Every method works on the embedding vectors,
so each real token gets one score: the sum over the embedding dimension of its vector's attribution.
Pads are dropped (they score exactly zero for every method here). Like :func:`dlviz.explain.attribute`,
every call runs on a private copy of the model: the user's model keeps its weights, mode, hooks and
``requires_grad`` flags. No streamlit here.

Methods (the same keys, titles and ideas as the image methods):
    integrated_gradients  Captum's LayerIntegratedGradients on the embedding layer, all steps in one
                          batch; the scores sum to f(sentence) - f(baseline sentence).
    saliency              sum over the dimension of |d score / d embedding| (unsigned).
    input_x_gradient      Captum's LayerGradientXActivation: gradient times embedding, summed.
    occlusion             one word at a time replaced by PAD (or UNK, or removed and the sentence
                          re-padded), all variants in one batch; the score is the drop in the output.

The Integrated Gradients baseline: by default the sentence with every real token replaced by UNK (id 1),
pads kept. Why not all PAD (zero vectors)? The sequence layers treat a zero vector as a pad and mask it
(``(x == 0).all(-1)``). On the straight path from zeros to the sentence every position is masked at the
start and none is a moment later, so the model jumps there: a recurrent layer then runs over near-zero
vectors whose state is its biases, not the masked zeros, and the attributions no longer add up (measured
on a hand-built masked LSTM: 0.046 against a score change of 0.005). From UNK the path never passes a zero
vector, the sentence keeps its length (the scores say which words, not how many), and UNK is what the
model saw in training for every word outside its vocabulary: "a word it knows nothing about". The cost:
an unknown word in the sentence equals the baseline there and scores exactly zero, which is honest, since
the model cannot tell it from any other unknown word. ``baseline="pad"`` (an empty sentence) stays
available; with mean or max pooling straight after the embedding its path is continuous too.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from dlviz.errors import ExplainError
from dlviz.explain.card import Card, Reading, build_card
from dlviz.explain.registry import (
    REGISTRY,
    Contrast,
    Method,
    Setting,
    aimed,
    check_settings,
    path_steps,
    private_copy,
    register,
    register_verb,
    unwrap,
)
from dlviz.i18n import N_, translate
from dlviz.modality.text import EncodedText, encode_sentence

PAD, UNK = 0, 1
CHUNK = 512  # sentences per forward pass (occlusion of a long sentence stays in one or two passes)
TEXT_BASELINES = ("unk", "pad")
OCCLUSION_FILLS = ("pad", "unk", "remove")

# card thresholds
NAMED_WORDS = 3  # at most this many words named for and against
NAMED_SHARE = 0.15  # a word is named when |score| >= this share of the sentence's largest |score|
# (the other thresholds, "unsure" and the agreement's, are the card's own: dlviz.explain.card)


@dataclass
class TextAttribution:
    method: str
    target: int
    positions: list[int]  # indices into ids of the real (non-PAD) tokens, in reading order
    ids: list[int]  # the token ids at those positions
    scores: torch.Tensor  # (T,) float32, one per real token, detached CPU
    seconds: float
    extra: dict  # IG: attribution_sum, output_difference, completeness_delta (and scores)
    probs: torch.Tensor | None = None  # (K,) the model's class probabilities for the sentence
    contrast: int | None = None  # explains score[target] - score[contrast]
    settings: dict = field(default_factory=dict)
    signed: bool = True  # False: scores >= 0 by construction (saliency)

    @property
    def map(self) -> torch.Tensor:
        """The scores under the name the image checks use (``checks.rank_agreement``)."""
        return self.scores

    @property
    def empty(self) -> bool:
        return not bool(self.scores.numel()) or bool(self.scores.abs().max() <= 1e-12)

    @property
    def unknown(self) -> list[bool]:
        return [i == UNK for i in self.ids]


TEXT_METHODS = REGISTRY["tokens"]  # the methods that read token ids (the same dict as the registry's shelf)


def _register(m: Method) -> None:
    register(replace(m, inputs="tokens"))


def embedding_layer(model: nn.Module) -> nn.Embedding:
    """The model's token embedding: the module named "embedding_1", else its first nn.Embedding."""
    named = dict(unwrap(model).named_modules())
    if isinstance(named.get("embedding_1"), nn.Embedding):
        return named["embedding_1"]
    for m in named.values():
        if isinstance(m, nn.Embedding):
            return m
    raise ExplainError(
        "This model has no Embedding layer, so it does not read words: word explanations need a "
        "text model whose first layer turns token ids into vectors."
    )


def _check_ids(ids, vocab_size: int) -> torch.Tensor:
    if not isinstance(ids, torch.Tensor):
        ids = torch.as_tensor(ids)
    if ids.dim() == 2 and ids.shape[0] == 1:
        ids = ids[0]
    if ids.dim() != 1 or ids.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise ExplainError(
            "A sentence must be one row of token ids, not a tensor of shape {shape}.",
            shape="x".join(map(str, ids.shape)) or "()",
        )
    ids = ids.detach().long().cpu()
    if ids.numel() == 0 or not bool((ids != PAD).any()):
        raise ExplainError("There are no words to explain: type a sentence first.")
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi >= vocab_size:
        raise ExplainError(
            "Token id {id} is outside this model's vocabulary of {n} tokens.", id=lo if lo < 0 else hi, n=vocab_size
        )
    return ids


@contextlib.contextmanager
def _rnn_backward_ok(device: torch.device):
    """cuDNN computes an RNN's backward pass only in training mode; the private copy is in eval mode."""
    if device.type == "cuda":
        with torch.backends.cudnn.flags(enabled=False):
            yield
    else:
        yield


@torch.no_grad()
def _with_vectors(model, layer: nn.Embedding, ids: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """The model's output for ``ids`` (N, L) with the embedding layer's output replaced by ``vectors`` (N, L, D)."""
    handle = layer.register_forward_hook(lambda module, inputs, output: vectors)
    try:
        return model(ids).double()
    finally:
        handle.remove()


def _leading_pads(model, layer: nn.Embedding, xb: torch.Tensor) -> int:
    """How many leading pads can be dropped without changing anything (0 if none can).

    dlviz's text layers skip pads (zero vectors) and count positions from the first real token, so a
    pre-padded sentence gives the same output without its leading pads, and every method runs 2-5x faster
    on a short sentence. Checked, not assumed (a hand-built model may average over the pads too): the
    output with and without the pads must agree at points along both baselines' paths and with the first
    word hidden.
    """
    row = xb[0]
    first = int(torch.nonzero(row != PAD)[0])
    if first == 0:
        return 0
    with torch.no_grad():
        e = layer(xb)  # (1, L, D)
        u = layer(baseline_ids(xb, "unk"))
    hidden = e.clone()
    hidden[0, first] = 0.0
    points = torch.cat([u, u + 0.05 * (e - u), u + 0.5 * (e - u), e, 0.05 * e, hidden])  # (6, L, D)
    try:
        full = _with_vectors(model, layer, xb.expand(len(points), -1), points)
        short = _with_vectors(model, layer, xb[:, first:].expand(len(points), -1), points[:, first:].contiguous())
    except (RuntimeError, ValueError, IndexError):
        return 0
    if full.shape != short.shape or not torch.isfinite(full).all():
        return 0
    tol = 1e-5 * max(1.0, float(full.abs().max()))
    return first if float((full - short).abs().max()) <= tol else 0


@torch.no_grad()
def _outputs(model, rows: torch.Tensor) -> torch.Tensor:
    """The model's output for (N, L) ids in chunks: (N, K) float64."""
    return torch.cat([model(rows[i : i + CHUNK]).double() for i in range(0, len(rows), CHUNK)])


def baseline_ids(ids: torch.Tensor, kind: str = "unk") -> torch.Tensor:
    """The reference sentence: every real token UNK ("unk") or PAD ("pad"); pads stay pads."""
    if kind not in TEXT_BASELINES:
        raise ValueError(kind)
    return torch.where(ids == PAD, torch.full_like(ids, PAD), torch.full_like(ids, UNK if kind == "unk" else PAD))


# --------------------------------------------------------------------------------------------
# Methods: run(model, ids (1, L), target, layer, **settings) -> (per-position scores (L,), extra)


def _integrated_gradients(model, ids, target, layer, steps=50, baseline="unk"):
    from captum.attr import LayerIntegratedGradients

    base = baseline_ids(ids, baseline)
    attr = LayerIntegratedGradients(model, layer).attribute(
        ids, baselines=base, target=target, n_steps=int(steps), internal_batch_size=int(steps)
    )
    scores = attr.detach().sum(-1)[0]  # (L,): one number per position
    out = _outputs(model, torch.cat([ids, base]))[:, target]
    diff, total = float(out[0] - out[1]), float(scores.double().sum())
    return scores, {
        "attribution_sum": total,
        "output_difference": diff,
        "completeness_delta": total - diff,
        "score": float(out[0]),
        "baseline_score": float(out[1]),
    }


def _gradient_x(model, ids, target, layer, multiply: bool):
    from captum.attr import LayerGradientXActivation

    attr = LayerGradientXActivation(model, layer, multiply_by_inputs=multiply).attribute(ids, target=target)
    return attr.detach()[0]  # (L, D)


def _saliency(model, ids, target, layer):
    return _gradient_x(model, ids, target, layer, False).abs().sum(-1), {}


def _input_x_gradient(model, ids, target, layer):
    return _gradient_x(model, ids, target, layer, True).sum(-1), {}


def _occluded(ids: torch.Tensor, fill: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(the real positions (T,), the T sentences (T, L) with one word each replaced or removed)."""
    row = ids[0]
    positions = torch.nonzero(row != PAD).flatten()
    rows = row.expand(len(positions), -1).clone()
    if fill == "remove":  # the sentence as if the word had not been typed: pre-padded one more
        keep = row != PAD
        for k, p in enumerate(positions.tolist()):
            mask = keep.clone()
            mask[p] = False
            words = row[mask]
            rows[k] = torch.cat([torch.full((len(row) - len(words),), PAD, dtype=row.dtype), words])
    else:
        rows[torch.arange(len(positions)), positions] = PAD if fill == "pad" else UNK
    return positions, rows


def _occlusion(model, ids, target, layer, fill="pad"):
    positions, rows = _occluded(ids, fill)
    out = _outputs(model, torch.cat([ids, rows.to(ids.device)]))[:, target]
    drops = (out[0] - out[1:]).float().cpu()  # score lost without each word
    scores = torch.zeros(ids.shape[1])
    scores[positions] = drops
    return scores, {"score": float(out[0]), "sentences": float(len(rows)), "largest_drop": float(drops.max())}


FILL_TITLES = {
    "pad": N_("a blank (PAD)"),
    "unk": N_("an unknown word (UNK)"),
    "remove": N_("nothing (removed)"),
}
BASELINE_TITLES = {"unk": N_("every word unknown (UNK)"), "pad": N_("an empty sentence (PAD)")}

_register(
    Method(
        "integrated_gradients",
        "Integrated Gradients",
        _integrated_gradients,
        {
            "steps": path_steps("Points on the path from the baseline to the sentence; more steps, more exact."),
            "baseline": Setting(
                "unk",
                choices=TEXT_BASELINES,
                labels=tuple(BASELINE_TITLES[b] for b in TEXT_BASELINES),
                title="Baseline",
                help="The 'nothing' sentence the words are compared with: every word "
                "unknown (unk), or an empty sentence (pad).",
            ),
        },
        blurb="Adds up the gradient along a path from a sentence of unknown words to this one; the "
        "words' parts sum to the change in the score.",
    )
)
_register(
    Method(
        "saliency",
        "Saliency",
        _saliency,
        blurb="How much the score would change if this word's vector changed a little (size only, no direction).",
        signed=False,
    )
)
_register(
    Method(
        "input_x_gradient",
        "Input x Gradient",
        _input_x_gradient,
        blurb="The gradient times the word's vector: a quick, one-pass estimate of each word's push.",
    )
)
_register(
    Method(
        "occlusion",
        "Occlusion",
        _occlusion,
        {
            "fill": Setting(
                "pad",
                choices=OCCLUSION_FILLS,
                labels=tuple(FILL_TITLES[f] for f in OCCLUSION_FILLS),
                title="Hide a word with",
                help="pad: a blank in its place; unk: an unknown word; remove: the sentence without it.",
            )
        },
        blurb="Hides one word at a time and watches the score: how much it falls without that word.",
        family="perturbation",
    )
)


# --------------------------------------------------------------------------------------------
# The one verb


# methods whose cost grows with the padded length enough that checking the leading pads pays off (the check
# is two forward passes of 6 sentences; saliency and input x gradient are one pass of 1, occlusion n + 1)
TRIM_PAYS = ("integrated_gradients",)


def attribute_text(
    model: nn.Module,
    ids,
    target: int,
    method: str = "integrated_gradients",
    contrast: int | None = None,
    trim: bool | None = None,
    **settings,
) -> TextAttribution:
    """Attribute class ``target``'s score for the sentence ``ids`` (L,) to its real tokens with ``method``.

    ``contrast=b`` explains ``score[target] - score[b]`` ("why target and not b?"). The user's model is
    not touched: everything runs on a private eval-mode copy. ``trim``: drop the leading pads first when
    that provably changes nothing (see :func:`_leading_pads`; the time includes the check); None (default):
    only for the methods in TRIM_PAYS.
    """
    settings = check_settings(method, settings, "tokens")
    m = TEXT_METHODS[method]
    import captum.attr  # noqa: F401  (its one-off import, done at start-up by the warm-up, stays out of the timing)

    t0 = time.perf_counter()  # the wait a user sees: the private copy included
    private = private_copy(model)
    layer = embedding_layer(private)
    ids = _check_ids(ids, layer.num_embeddings)
    device = layer.weight.device
    xb = ids.to(device).unsqueeze(0)
    logits = _outputs(private, xb)[0]
    k = logits.shape[0]
    private = aimed(private, k, target, contrast)
    cut = _leading_pads(private, layer, xb) if (method in TRIM_PAYS if trim is None else trim) else 0
    with _rnn_backward_ok(device):
        scores, extra = m.run(private, xb[:, cut:], int(target), layer, **settings)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    scores = scores.detach().float().cpu()
    if tuple(scores.shape) != (len(ids) - cut,):
        raise RuntimeError(f"{method} returned {tuple(scores.shape)}, expected ({len(ids) - cut},)")
    scores = torch.cat([torch.zeros(cut), scores])
    extra = {**extra, "leading_pads_skipped": float(cut)}
    positions = torch.nonzero(ids != PAD).flatten()
    return TextAttribution(
        method,
        int(target),
        positions.tolist(),
        ids[positions].tolist(),
        scores[positions].contiguous(),
        seconds,
        extra,
        torch.softmax(logits.float(), 0).cpu(),
        contrast,
        settings,
        m.signed,
    )


register_verb("tokens", attribute_text)


# --------------------------------------------------------------------------------------------
# Sanity checks for word scores (the image checks of dlviz.explain.checks, over words)


MIN_WORDS_TO_RANK = 3  # fewer words than this: a rank correlation says nothing


def text_randomisation(model: nn.Module, ids, target: int, method: str = "integrated_gradients", **settings):
    """Adebayo et al. 2018 over words (:func:`dlviz.explain.checks.randomisation_test` on token ids: the word
    scores' positions and vocabulary ranks are the model-free reference). None for fewer than 3 words."""
    from dlviz.explain.checks import randomisation_test

    return randomisation_test(model, torch.as_tensor(ids), target, method, **settings)


def text_data_randomisation(
    model: nn.Module, shuffled: nn.Module, ids, target: int, method: str = "integrated_gradients", **settings
):
    """The data-randomisation test over words (:func:`dlviz.explain.checks.data_randomisation_test` on token
    ids). None for fewer than 3 words."""
    from dlviz.explain.checks import data_randomisation_test

    return data_randomisation_test(model, shuffled, torch.as_tensor(ids), target, method, **settings)


class _Presence:
    """A forward hook on the embedding that reads each real word at a "presence" a in [0, 1]: its vector
    becomes u + a (e - u), u the UNK vector (the baseline of Integrated Gradients), e the word's own. Pads stay
    pads. The presence of the T real words is set in ``alpha`` ((1, T) for every row, or (N, T) for N rows);
    pre-padded rows are right-aligned, so real word i sits at position L - T + i of each row."""

    def __init__(self, layer: nn.Embedding, alpha: torch.Tensor):
        self.unk = layer.weight[UNK].detach()
        self.alpha = alpha
        self.handle = layer.register_forward_hook(self)

    def __call__(self, module, inputs, output):
        ids = inputs[0]
        a = self.alpha.to(output.dtype).to(output.device)
        n, length = ids.shape
        full = torch.ones(n, length, dtype=output.dtype, device=output.device)
        t = a.shape[-1]
        full[:, length - t :] = a.expand(n, -1) if a.shape[0] == 1 else a
        full = torch.where(ids == PAD, torch.ones_like(full), full)[..., None]
        unk = self.unk.to(output.dtype)
        return unk + full * (output - unk)


def text_fidelity(
    model: nn.Module,
    ids,
    target: int,
    method: str,
    scores,
    contrast: int | None = None,
    seed: int = 0,
    samples: int = 20,
    radius: float = 0.02,
    **settings,
):
    """Infidelity and max-sensitivity (Yeh et al. 2019, ``captum.metrics``) of word scores, each beside a random
    explanation's value (seeded Gaussian noise, one number per word), as :func:`dlviz.explain.checks.fidelity`
    does for images. Words are not continuous, so both measure along each word's presence a (see
    :class:`_Presence`: a = 1 is the sentence, a = 0 the word read as unknown, the Integrated Gradients
    baseline): infidelity perturbs the presences with Gaussian noise (std 0.1) and compares the scores'
    predicted change of the score with the real one; sensitivity is the largest change of the scores when the
    presences move within ``radius``. A :class:`dlviz.explain.checks.Fidelity`; its ``sensitivity`` is NaN for
    occlusion with fill "remove" (a removed word shifts the words before it, so presence has no fixed place)."""
    import copy

    from captum.metrics import infidelity, sensitivity_max

    from dlviz.explain.checks import Fidelity, _seeded

    settings = check_settings(method, settings, "tokens")
    t0 = time.perf_counter()
    private = private_copy(model)
    layer = embedding_layer(private)
    ids = _check_ids(ids, layer.num_embeddings)
    device = layer.weight.device
    n = int((ids != PAD).sum())
    scores = torch.as_tensor(scores).detach().float().cpu().flatten()
    if len(scores) != n:
        raise ExplainError("There are {got} scores for {n} words: they must match.", got=len(scores), n=n)
    row = ids.to(device)[None]
    alpha = torch.ones(1, n, device=device)
    hook = _Presence(layer, alpha)
    forward_model = private if contrast is None else Contrast(private, target, contrast)

    def forward(a):
        hook.alpha = a
        with torch.no_grad():
            return forward_model(row.expand(len(a), -1))

    def perturb(inputs):
        noise = 0.1 * torch.randn_like(inputs)
        return noise, inputs - noise

    with _seeded(seed, device):
        rand = torch.randn((1, n), generator=torch.Generator().manual_seed(int(seed))).to(device)
        kw = dict(target=target, n_perturb_samples=samples, normalize=True)
        inf = float(infidelity(forward, perturb, alpha, scores.to(device)[None], **kw))
        rinf = float(infidelity(forward, perturb, alpha, rand, **kw))
    hook.handle.remove()
    sens = rsens = float("nan")
    if not (method == "occlusion" and settings.get("fill") == "remove"):
        work = copy.deepcopy(model)
        moved = _Presence(embedding_layer(work), alpha)

        def explain(inputs, target=None):
            inputs = inputs[0] if isinstance(inputs, tuple) else inputs
            out = []
            for a in inputs.detach():
                moved.alpha = a[None]
                out.append(attribute_text(work, ids, int(target), method, contrast=contrast, **settings).scores)
            # a tuple: captum iterates over what the first call returns, and a bare (1, T) tensor would be read
            # as T separate inputs
            return (torch.stack(out).to(inputs.device),)

        def random_explain(inputs, target=None):
            inputs = inputs[0] if isinstance(inputs, tuple) else inputs
            return (torch.randn_like(inputs),)

        with _seeded(seed, device):
            kw = dict(target=target, perturb_radius=radius, n_perturb_samples=5)
            sens = float(sensitivity_max(explain, alpha, **kw))
            rsens = float(sensitivity_max(random_explain, alpha, **kw))
    return Fidelity(inf, rinf, sens, rsens, time.perf_counter() - t0)


def word_curves(model: nn.Module, ids, target: int, scores, seed: int = 0):
    """Deletion and insertion over words (Petsiuk et al. 2018, as dlviz.explain.checks.deletion_insertion):
    remove the words with the highest scores first (each becomes PAD), and build the sentence back from
    nothing with the highest first; the softmax probability of ``target`` after each word, against the mean
    of a few seeded random word orders. All sentences in one batch. A :class:`dlviz.explain.checks.Curves`
    (fractions of the words); None for sentences of fewer than 3 words."""
    from dlviz.explain.checks import RANDOM_ORDERS, curves_of

    t0 = time.perf_counter()
    private = private_copy(model)
    layer = embedding_layer(private)
    ids = _check_ids(ids, layer.num_embeddings)
    positions = torch.nonzero(ids != PAD).flatten()
    n = len(positions)
    scores = torch.as_tensor(scores).detach().float().cpu().flatten()
    if len(scores) != n:
        raise ExplainError("There are {got} scores for {n} words: they must match.", got=len(scores), n=n)
    if n < MIN_WORDS_TO_RANK:
        return None
    if float(scores.abs().max()) <= 1e-12:
        raise ExplainError("The explanation is empty, so it gives no order in which to remove the words.")
    g = torch.Generator().manual_seed(int(seed))
    shuffle = torch.randperm(n, generator=g)  # ties in a seeded random order
    order = shuffle[torch.argsort(scores[shuffle], descending=True, stable=True)]
    orders = torch.stack([order] + [torch.randperm(n, generator=g) for _ in range(RANDOM_ORDERS)])  # (R, n)
    rank = torch.empty_like(orders)
    rank.scatter_(1, orders, torch.arange(n).expand_as(orders))
    counts = torch.arange(n + 1)
    top = rank[:, None, :] < counts[None, :, None]  # (R, n + 1, n): the first k words of each order
    rows = ids.expand(*top.shape[:2], -1).clone()  # (R, n + 1, L)
    real = rows[..., positions]
    deleted, inserted = rows.clone(), rows.clone()
    deleted[..., positions] = torch.where(top, torch.zeros_like(real), real)
    inserted[..., positions] = torch.where(top, real, torch.zeros_like(real))
    batch = torch.cat([deleted.reshape(-1, len(ids)), inserted.reshape(-1, len(ids))]).to(layer.weight.device)
    logits = _outputs(private, batch)
    k = logits.shape[1]
    if isinstance(target, bool) or not isinstance(target, int) or not (0 <= target < k):
        raise ExplainError(
            "Class {target} does not exist: this model has classes 0 to {last}.", target=target, last=k - 1
        )
    probs = torch.softmax(logits, 1)[:, target].cpu().numpy()
    per = len(orders) * (n + 1)
    dele, ins = probs[:per].reshape(len(orders), n + 1), probs[per:].reshape(len(orders), n + 1)
    fractions = np.linspace(0.0, 1.0, n + 1)
    curves = curves_of(fractions, dele, ins, time.perf_counter() - t0)
    curves.random_deletion = dele[1:].mean(0).tolist()  # drawn by dlviz.plots.explain.curves_figure
    curves.random_insertion = ins[1:].mean(0).tolist()
    return curves


# --------------------------------------------------------------------------------------------
# From typed text to ids and back


def encode_text(vocab, text: str, max_len: int) -> EncodedText:
    """``text`` through the text modality's one encoder (:func:`dlviz.modality.text.encode_sentence`);
    an ExplainError for a text without tokens (empty, only spaces)."""
    encoded = encode_sentence(vocab, text, max_len)
    if encoded.empty:
        raise ExplainError("There are no words to explain: type a sentence first.")
    return encoded


# --------------------------------------------------------------------------------------------
# The plain-language card


TextCard = Card  # one card type for every kind of input (dlviz.explain.card.Card)


def top_words(words: list[str], scores, sign: int, n: int = NAMED_WORDS, share: float = NAMED_SHARE) -> list[str]:
    """Up to ``n`` words with the strongest push in direction ``sign`` (+1 for, -1 against), strongest first;
    only words holding at least ``share`` of the sentence's largest |score|. A word that occurs twice is named
    once."""
    s = np.asarray(torch.as_tensor(scores).detach().cpu().double()).reshape(-1) * sign
    peak = float(np.abs(s).max()) if s.size else 0.0
    if peak <= 1e-12:
        return []
    out: list[str] = []
    for i in np.argsort(-s, kind="stable"):
        if s[i] <= 0 or s[i] < share * peak or len(out) >= n:
            break
        if words[i] not in out:
            out.append(words[i])
    return out


def combined_scores(attributions: dict) -> np.ndarray | None:
    """The signed methods' scores, each scaled by its own largest |score|, averaged (None when all are empty;
    unsigned methods say how much, not which way, and stay out)."""
    rows = []
    for a in attributions.values():
        s = np.asarray(a.scores.double())
        peak = float(np.abs(s).max()) if s.size else 0.0
        if a.signed and peak > 1e-12:
            rows.append(s / peak)
    return np.mean(rows, axis=0) if rows else None


def _quoted(words: list[str], lang: str) -> str:
    return (
        translate("“{w}”", lang, w=words[0])
        if len(words) == 1
        else translate(", ", lang).join(translate("“{w}”", lang, w=w) for w in words)
    )


def word_evidence(
    encoded: EncodedText, attributions: dict, target: int, contrast: int | None, name, lang: str
) -> Reading:
    """What the word scores say, in words: a long text's cut, the unknown words, the words for and against
    (signed methods only)."""
    lines: list[str] = []
    reading = lambda nothing: Reading(lines, nothing, len(encoded.words), "words")  # noqa: E731
    if encoded.truncated:
        lines.append(
            translate(
                "The text is long: the model reads only its first {n} of {total} tokens.",
                lang,
                n=len(encoded.words),
                total=encoded.total,
            )
        )
    n_unknown = sum(encoded.unknown)
    all_unknown = n_unknown == len(encoded.words)
    if all_unknown:
        lines.append(
            translate(
                "Every word is unknown to the model (outside its vocabulary): it reads them all as "
                "the same 'unknown' token, so nothing tells this text apart from any other of the "
                "same length.",
                lang,
            )
        )
    elif n_unknown:
        unknown_words = list(dict.fromkeys(w for w, u in zip(encoded.words, encoded.unknown) if u))
        lines.append(
            translate(
                "Unknown to the model (read as the 'unknown' token): {words}.",
                lang,
                words=_quoted(unknown_words[:5], lang) + ("…" if len(unknown_words) > 5 else ""),
            )
        )
    combined = combined_scores(attributions)
    empty = not attributions or all(a.empty for a in attributions.values())
    if combined is None:
        if attributions and empty:
            lines.append(
                translate("The explanation is empty: every word scores zero.", lang)
                + (
                    " " + translate("Against a baseline of unknown words, unknown words have nothing to add.", lang)
                    if all_unknown
                    else ""
                )
            )
        elif attributions:
            lines.append(
                translate(
                    "Only unsigned methods ran: they say how much each word matters, not which way it pushes.", lang
                )
            )
        return reading(empty)
    pro, con = top_words(encoded.words, combined, +1), top_words(encoded.words, combined, -1)
    if contrast is None:
        said = dict(target=name(target))
        lines.append(
            translate("Words for {target}: {words}.", lang, words=_quoted(pro, lang), **said)
            if pro
            else translate("No word clearly pushes towards {target}.", lang, **said)
        )
        if con:
            lines.append(translate("Words against {target}: {words}.", lang, words=_quoted(con, lang), **said))
    else:
        said = dict(a=name(target), b=name(contrast))
        lines.append(
            translate("Words for {a} rather than {b}: {words}.", lang, words=_quoted(pro, lang), **said)
            if pro
            else translate("No word clearly favours {a} over {b}.", lang, **said)
        )
        if con:
            lines.append(translate("Words for {b} instead: {words}.", lang, b=said["b"], words=_quoted(con, lang)))
    return reading(empty)


def text_card(
    classes: list[str],
    probs,
    target: int,
    contrast: int | None,
    encoded: EncodedText,
    attributions: dict,
    agreement: float | None = None,
    *checks,
    source: str = "typed",
    **kw,
) -> Card:
    """The card for one sentence (:func:`dlviz.explain.card.build_card` with :func:`word_evidence`), in plain
    words (not escaped: the page escapes every line, since they quote the user's words). The checks
    (``completeness`` from dlviz.explain.checks, ``randomisation`` from :func:`text_randomisation`,
    ``data_randomisation`` from :func:`text_data_randomisation`, ``curves`` from :func:`word_curves`,
    ``fidelity`` from :func:`text_fidelity`) are optional: None means not run; ``too_short``: the sentence had
    too few words for the checks of the model."""

    def evidence(name, lang):
        return word_evidence(encoded, attributions, target, contrast, name, lang)

    return build_card(classes, probs, target, contrast, attributions, agreement, evidence, *checks, source=source, **kw)
