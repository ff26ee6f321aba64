from __future__ import annotations

from types import SimpleNamespace

from index.tokenize import Tokenizer, tokenize


def test_tokenize_is_unicode_aware_and_lowercase() -> None:
    assert tokenize("Straße CAFÉ naïve_x 42 日本語") == [
        "strasse",
        "café",
        "naïve",
        "x",
        "42",
        "日本語",
    ]


def test_stemming_and_stop_words_are_optional_and_from_settings() -> None:
    text = "The pumps are Running in the loop"
    assert Tokenizer()(text) == ["the", "pumps", "are", "running", "in", "the", "loop"]
    both = Tokenizer.from_settings(SimpleNamespace(bm25_stemming=True, bm25_stopwords=True))
    assert both(text) == ["pump", "run", "loop"]
    assert both.name != Tokenizer().name
