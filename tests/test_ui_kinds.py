"""dlviz.ui.kinds and dlviz.ui.keys: every kind of data has its UI side, every session key is named once."""

from __future__ import annotations

from pathlib import Path

from dlviz.modality import IMAGE, MODALITIES, TEXT
from dlviz.ui import keys as K
from dlviz.ui.kinds import IMAGE_KIND, KINDS, TEXT_KIND, kind_of, kind_of_settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_modality_has_a_kind_whose_pages_exist():
    assert set(KINDS) == set(MODALITIES)  # a new modality without its UI side fails here, not in a page
    for name, kind in KINDS.items():
        assert kind.modality is MODALITIES[name]
        for page, label, icon in kind.looks:
            assert (ROOT / page).is_file(), page
            assert label and icon.startswith(":material/")
    assert len({k.preset_key for k in KINDS.values()}) == len(KINDS)  # each kind its own preset box


def test_kind_of_datasets_runs_and_saved_settings():
    assert kind_of("mnist") is IMAGE_KIND and kind_of("rt-polarity") is TEXT_KIND
    assert kind_of(IMAGE) is IMAGE_KIND and kind_of(TEXT.name) is TEXT_KIND
    assert kind_of_settings({"kind": "text"}) is TEXT_KIND
    assert kind_of_settings({}) is IMAGE_KIND and kind_of_settings(None) is IMAGE_KIND  # runs saved before "kind"
    assert "train_size" in TEXT_KIND.setting_labels and not IMAGE_KIND.setting_labels


def test_every_session_key_is_named_once_and_the_saved_ones_are_keys():
    names = {n: v for n, v in vars(K).items() if n.isupper() and isinstance(v, str)}
    values = list(names.values())
    assert len(values) == len(set(values)), "two names for one session key"
    assert set(K.PERSISTED) <= set(values) and K.LANG in K.PERSISTED and K.SID not in K.PERSISTED
    # keys made per run / layer / language never meet a named one
    made = [K.replay("r1"), K.replay_widget("r1", "zh"), K.sentence("en"), K.build_row("up", 3, 1), K.emb_layer("r")]
    assert not set(made) & set(values) and len(set(made)) == len(made)
