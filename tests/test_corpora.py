"""The embedded default corpus: WordNet 3.0 glosses read offline with nltk from Debian's files."""

from __future__ import annotations

import pytest

from maskkit.corpora import wordnet


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    if not (wordnet.DEBIAN_WORDNET / "data.noun").exists():
        pytest.skip("WordNet 3.0 is not installed (apt-get install wordnet-base wordnet-sense-index)")
    monkeypatch.setenv("MASKKIT_CACHE", str(tmp_path))
    return tmp_path


def nltk_glosses(limit_per_pos: int) -> list[dict[str, str]]:
    """The reference: nltk's reader over the same files (synset names, definitions, examples, lexnames)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "multilingual functions are not available"
        reader = wordnet.load_wordnet()
    rows = []
    for pos in ("n", "v", "a", "r"):
        for i, synset in enumerate(reader.all_synsets(pos)):
            if i >= limit_per_pos:
                break
            label, name = synset.lexname(), synset.name()
            rows.append({"text": synset.definition(), "label": label, "synset": name})
            rows.extend({"text": e, "label": label, "synset": name} for e in synset.examples())
    return rows


def test_glosses_are_nltks_read_straight_from_the_files(fresh_cache):
    """The fast reader gives nltk's rows, satellites' sense numbers included (adjectives reach them early)."""
    assert wordnet.wordnet_glosses(limit_per_pos=400) == nltk_glosses(400)
    assert (fresh_cache / "nltk_data" / "corpora" / "wordnet" / "lexnames").exists()


def test_glosses_have_lexicographer_labels():
    rows = wordnet.wordnet_glosses(limit_per_pos=50)
    labels = {r["label"] for r in rows}
    assert {"noun.Tops", "verb.body"} & labels and all(label in wordnet.LEXNAMES for label in labels)
    assert len([r for r in rows if r["synset"].endswith(".n.01")]) >= 10
    assert all(r["text"].strip() for r in rows)
    entity = next(r for r in rows if r["synset"] == "entity.n.01")
    assert entity["label"] == "noun.Tops" and "exist" in entity["text"]


def test_missing_wordnet_names_the_install_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install wordnet-base"):
        wordnet.nltk_wordnet_dir(source=tmp_path / "nowhere", target=tmp_path / "out")
