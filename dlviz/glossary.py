"""The glossary: a plain sentence for each word of jargon a student meets on the pages (issue 13).

Shown on the Glossary page (pages/glossary.py, in the sidebar of every page) and as the ``help=`` tooltip of
the places that use the word (:func:`help_text`). Chinese in dlviz/i18n/zh/glossary.json.
"""

from __future__ import annotations

from dataclasses import dataclass

from dlviz.i18n import N_, translate


@dataclass(frozen=True)
class Entry:
    key: str
    term: str
    text: str
    pages: tuple[str, ...]  # the pages (sidebar titles) where a student meets it


ENTRIES: tuple[Entry, ...] = (
    Entry(
        'accuracy',
        N_("Accuracy"),
        N_("The share of images the model labels correctly. With 10 classes, guessing gets about 10%."),
        ('Train', 'Runs', 'Errors'),
    ),
    Entry(
        'loss',
        N_("Loss (cross-entropy)"),
        N_(
            "One number saying how wrong the model's probabilities are: 0 when it gives the right class "
            "100%, large when it is sure of a wrong one. Training pushes it down."
        ),
        ('Train',),
    ),
    Entry(
        'logits',
        N_("Logits"),
        N_(
            "The raw scores of the last layer, one per class, before softmax turns them into "
            "probabilities. Bigger means more likely."
        ),
        ('Inspect', 'Explain'),
    ),
    Entry(
        'softmax',
        N_("Softmax"),
        N_("Turns the logits into probabilities that are all positive and add up to 100%."),
        ('Inspect',),
    ),
    Entry(
        'confidence',
        N_("Confidence (sure)"),
        N_("The probability the model gives its own answer. A confident model can still be wrong."),
        ('Inspect', 'Errors', 'Explain'),
    ),
    Entry(
        'epoch',
        N_("Epoch"),
        N_("One pass over all the training images. Five epochs means every image was seen five times."),
        ('Train',),
    ),
    Entry(
        'batch',
        N_("Batch and batch size"),
        N_(
            "The images used for one step of training. After each batch the weights change a little; "
            "batch size is how many images that is."
        ),
        ('Train',),
    ),
    Entry('step', N_("Step"), N_("One update of the weights, after one batch."), ('Train', 'Gradients')),
    Entry(
        'learning-rate',
        N_("Learning rate"),
        N_("How big each step of training is. Too small: slow. Too big: the loss jumps around or becomes NaN."),
        ('Train',),
    ),
    Entry(
        'schedule',
        N_("Warm-up then cosine decay (one-cycle)"),
        N_(
            "A learning rate that starts small, rises for the first 5% of steps, then falls smoothly to "
            "zero: big steps early to explore, small steps late to settle."
        ),
        ('Train',),
    ),
    Entry(
        'optimizer',
        N_("Optimizer (Adam, SGD)"),
        N_(
            "The rule that turns gradients into weight changes. SGD steps straight downhill (momentum "
            "keeps some of the last step); Adam also adapts the step size for each weight."
        ),
        ('Train',),
    ),
    Entry(
        'weight-decay',
        N_("Weight decay"),
        N_("A small pull of every weight towards zero at each step, which discourages the model from memorising."),
        ('Train',),
    ),
    Entry(
        'dropout',
        N_("Dropout"),
        N_(
            "During training, switches off a random share of units at each step, so the network cannot "
            "rely on any single one. Off when testing."
        ),
        ('Build',),
    ),
    Entry(
        'batchnorm',
        N_("Batch normalisation"),
        N_("Rescales a layer's outputs to a steady range during training, which often lets a network learn faster."),
        ('Build',),
    ),
    Entry(
        'overfitting',
        N_("Overfitting and the validation set"),
        N_(
            "A model overfits when it learns the training images by heart: training accuracy keeps rising "
            "while accuracy on held-back validation images stops or falls."
        ),
        ('Train',),
    ),
    Entry(
        'test-set',
        N_("Test set"),
        N_(
            "Images kept apart until the end, never used for training or choosing settings; they measure "
            "how well the model does on new images."
        ),
        ('Data', 'Train'),
    ),
    Entry(
        'parameters',
        N_("Parameters (weights and biases)"),
        N_(
            "The numbers the network learns. A Dense layer from 784 to 128 units has 784 x 128 weights plus 128 biases."
        ),
        ('Build',),
    ),
    Entry(
        'dense',
        N_("Dense layer"),
        N_("Every output unit is a weighted sum of all the inputs (plus a bias)."),
        ('Build', 'Inspect'),
    ),
    Entry(
        'convolution',
        N_("Convolution, filter, kernel"),
        N_(
            "A small square of weights (the filter or kernel) slides over the image; at each place it "
            "gives one number saying how much that patch looks like its pattern. The numbers form a "
            "feature map."
        ),
        ('Build', 'Filters', 'Inspect'),
    ),
    Entry(
        'feature-map',
        N_("Feature map"),
        N_("The picture a filter makes of its input: bright where its pattern is present."),
        ('Inspect', 'Filters'),
    ),
    Entry(
        'stride',
        N_("Stride"),
        N_(
            "How many pixels a filter or pooling window moves each time. Stride 2 halves the height and "
            "width; for pooling, 0 means the same as the window, so the windows do not overlap."
        ),
        ('Build',),
    ),
    Entry(
        'padding',
        N_("Padding"),
        N_(
            "Zeros added around the image so a filter can also sit on the border; padding keeps the "
            "output as large as the input."
        ),
        ('Build',),
    ),
    Entry(
        'pooling',
        N_("Pooling"),
        N_("Shrinks a feature map by keeping the largest (max) or the average value of each small window."),
        ('Build',),
    ),
    Entry(
        'activation',
        N_("Activation (ReLU, sigmoid)"),
        N_(
            "The bend applied after a layer. ReLU keeps positive numbers and turns negatives into 0; "
            "sigmoid squeezes every number into 0 to 1."
        ),
        ('Build', 'Inspect'),
    ),
    Entry(
        'gradient',
        N_("Gradient"),
        N_(
            "For each weight, which way and how strongly a small change would lower the loss. Training "
            "moves every weight a little against its gradient."
        ),
        ('Gradients',),
    ),
    Entry(
        'vanishing',
        N_("Vanishing and exploding gradients"),
        N_(
            "In a deep network the gradient is multiplied layer after layer; it can shrink to almost "
            "nothing (the first layers stop learning) or grow huge (training blows up)."
        ),
        ('Gradients',),
    ),
    Entry(
        'residual',
        N_("Residual connection (skip)"),
        N_(
            "A shortcut that adds a block's input to its output, so the gradient has a direct road back "
            "to the first layers."
        ),
        ('Build', 'Gradients'),
    ),
    Entry(
        'embedding-map',
        N_("Embedding map (PCA, t-SNE)"),
        N_(
            "A layer's output has hundreds of numbers per image; PCA and t-SNE place each image as a "
            "point in 2-D so that images the layer sees alike end up close."
        ),
        ('Embeddings',),
    ),
    Entry(
        'knn',
        N_("Neighbours with the same label"),
        N_(
            "For each point on the map, the share of its 10 nearest points that have its label. Near "
            "100%: the classes sit apart; near 10%: they are mixed."
        ),
        ('Embeddings',),
    ),
    Entry(
        'confusion',
        N_("Confusion matrix"),
        N_(
            "A table of true class against predicted class: the diagonal holds the right answers, every "
            "other square one kind of mistake."
        ),
        ('Errors',),
    ),
    Entry(
        'attribution',
        N_("Attribution (saliency map)"),
        N_(
            "A score per pixel (or word) saying how much it pushed the model towards its answer (blue) or "
            "away from it (vermillion)."
        ),
        ('Explain',),
    ),
    Entry(
        'baseline',
        N_("Baseline (of an attribution)"),
        N_(
            "The \"nothing\" an attribution compares the image with, usually a black image: each pixel's "
            "score tells how the answer changes from that baseline to the real image."
        ),
        ('Explain',),
    ),
    Entry(
        'completeness',
        N_("Completeness (attributions add up)"),
        N_(
            "For methods such as Integrated Gradients, all the pixel scores should add up to the change "
            "in the model's score from the baseline to the image. If they do, the map accounts for the "
            "whole answer."
        ),
        ('Explain',),
    ),
    Entry(
        'rank-correlation',
        N_("Rank correlation (agreement)"),
        N_(
            "Compares two maps by the order of their pixels, strongest first: 1 means the same order, 0 "
            "unrelated, -1 opposite. It measures whether two methods point at the same pixels."
        ),
        ('Explain',),
    ),
    Entry(
        'deletion',
        N_("Deletion and insertion area"),
        N_(
            "Deletion removes the pixels a map ranks highest first and draws how fast the model's "
            "confidence falls; insertion adds them to a blank image and draws how fast it comes back. The "
            "area under each curve sums it up: for deletion lower is better, for insertion higher, "
            "compared with a random order."
        ),
        ('Explain',),
    ),
    Entry(
        'randomisation',
        N_("Model randomisation test"),
        N_(
            "Scrambles the model's weights and draws the map again. A trustworthy map changes: it "
            "depended on what the model learned, not only on the image."
        ),
        ('Explain',),
    ),
    Entry(
        'cpu-threads',
        N_("CPU threads"),
        N_(
            "How many processor cores one training job uses at once. dlviz times the first steps and "
            "keeps the faster count; on a shared classroom server fewer threads leave room for others."
        ),
        ('Train',),
    ),
    Entry(
        'bf16',
        N_("bf16 and precision"),
        N_(
            "How many bits each number has while computing. Normal is 32-bit; bf16 uses 16 bits, which is "
            "faster on hardware made for it and accurate enough for training. The weights themselves stay "
            "32-bit."
        ),
        ('Train',),
    ),
    Entry(
        'seed',
        N_("Random seed"),
        N_(
            "The number that fixes every random choice (starting weights, order of images), so the same "
            "settings give the same run again."
        ),
        ('Train',),
    ),
    Entry(
        'token',
        N_("Token"),
        N_(
            "One piece of a sentence the model reads: a word (or a Chinese character). Each token becomes "
            "a number, its id."
        ),
        ('Data', 'Attention'),
    ),
    Entry(
        'attention',
        N_("Attention"),
        N_(
            "In a transformer, each word looks at every other word and decides how much of each to mix "
            "into its own meaning; the maps show those shares."
        ),
        ('Attention',),
    ),
    Entry(
        'lstm',
        N_("LSTM and GRU"),
        N_(
            "Recurrent layers that read a sentence word by word and keep a memory; gates decide what to "
            "keep, what to forget and what to output."
        ),
        ('Sequence',),
    ),
)
BY_KEY = {e.key: e for e in ENTRIES}


def entry(key: str) -> Entry:
    return BY_KEY[key]


def help_text(*keys: str, lang: str = "en") -> str:
    """A tooltip: each entry's term in bold and its sentence, then where the whole glossary is."""
    colon = "：" if lang == "zh" else ": "
    parts = [f"**{translate(BY_KEY[k].term, lang)}**{colon}{translate(BY_KEY[k].text, lang)}" for k in keys]
    parts.append(translate("More words in the Glossary (sidebar).", lang))
    return "\n\n".join(parts)


def search(query: str, lang: str = "en") -> list[Entry]:
    """Entries whose term or sentence (in ``lang`` or English) contains ``query``, in glossary order."""
    q = query.strip().lower()
    if not q:
        return list(ENTRIES)
    return [
        e
        for e in ENTRIES
        if any(q in s.lower() for s in (e.term, e.text, translate(e.term, lang), translate(e.text, lang)))
    ]
