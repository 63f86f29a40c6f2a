"""EDA operations: keyed, batch-first, keeping case, punctuation and negations (hypothesis and examples)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maskkit.augment.eda import EDA, RandomDelete, RandomInsert, RandomSwap, SynonymReplace, is_negation
from maskkit.augment.text import join_tokens, split_tokens
from maskkit.corpora.wordnet import DEBIAN_WORDNET
from maskkit.masking.words import has_cjk
from maskkit.text.synonyms import DictionarySynonyms, WordNetSynonyms

WORDS = ["the", "movie", "film", "isn't", "good", "great", "not", "never", "Boring", "plot", "2019", "actors"]
TEXTS = st.lists(st.sampled_from([*WORDS, ",", ".", "!"]), min_size=0, max_size=25).map(" ".join)


@pytest.fixture(scope="module")
def thesaurus(tmp_path_factory):
    path = tmp_path_factory.mktemp("syn") / "synonyms.txt"
    path.write_text("movie film picture\ngood fine decent\ngreat terrific\nboring dull, tedious\n电影 影片\n")
    return DictionarySynonyms(path)


def words_of(text):
    return [t.text for t in split_tokens(text)[1] if t.is_word]


def punctuation_of(text):
    return [t.text for t in split_tokens(text)[1] if not t.is_word]


@settings(max_examples=60, deadline=None)
@given(text=st.text(min_size=0, max_size=60))
def test_tokens_join_back_to_the_text(text):
    leading, tokens = split_tokens(text)
    assert join_tokens(leading, tokens, segmented=has_cjk(text)) == text or not text.strip()


@settings(max_examples=60, deadline=None)
@given(text=TEXTS, seed=st.integers(0, 5))
def test_swap_keeps_the_words_and_punctuation(text, seed):
    out = RandomSwap(alpha=0.5, seed=seed)([text])[0]
    assert sorted(w.lower() for w in words_of(out)) == sorted(w.lower() for w in words_of(text))
    assert punctuation_of(out) == punctuation_of(text)
    # negations never move
    before = [w for w in words_of(text)]
    after = [w for w in words_of(out)]
    assert [i for i, w in enumerate(before) if is_negation(w)] == [i for i, w in enumerate(after) if is_negation(w)]


@settings(max_examples=60, deadline=None)
@given(text=TEXTS, p=st.floats(0, 1), seed=st.integers(0, 5))
def test_delete_never_empties_a_text_nor_drops_negations(text, p, seed):
    out = RandomDelete(alpha=p, seed=seed)([text])[0]
    if words_of(text):
        assert words_of(out)
    kept = words_of(out)
    assert all(w in kept for w in words_of(text) if is_negation(w))
    assert punctuation_of(out) == punctuation_of(text)
    assert out == out.strip() or text != text.strip()  # no stray spaces left at the ends
    assert "  " not in out or "  " in text


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(TEXTS, min_size=1, max_size=6), k=st.integers(0, 3))
def test_augmentations_are_keyed_not_batched(texts, k, thesaurus):
    for op in (
        SynonymReplace(0.3, synonyms=thesaurus),
        RandomInsert(0.3, synonyms=thesaurus),
        RandomSwap(0.3),
        RandomDelete(0.3),
    ):
        together = op(texts, k=k)
        assert len(together) == len(texts)
        assert together == [op([t], k=k)[0] for t in texts]
        assert together == op(texts, k=k)


def test_synonym_replacement_keeps_case_contractions_and_stop_words(thesaurus):
    text = "The MOVIE isn't good, but the plot is Boring!"
    outs = {SynonymReplace(alpha=1.0, synonyms=thesaurus)([text], k=k)[0] for k in range(30)}
    for out in outs:
        assert out.startswith("The ") and "isn't" in out and out.endswith("!") and ", but the plot is " in out
        assert re.search(r"\b(MOVIE|FILM|PICTURE)\b", out) and re.search(r"\b(Boring|Dull|Tedious)\b", out)
    assert len(outs) > 3  # synonyms are sampled, not always the first


def test_insertion_uses_synonyms_of_non_stop_words(thesaurus):
    out = RandomInsert(alpha=0.5, synonyms=thesaurus)(["the movie is good"], k=1)[0]
    added = [w for w in words_of(out)]
    assert len(added) > 4 and set(added) - {"the", "movie", "is", "good"} <= {"film", "picture", "fine", "decent"}
    assert not out.endswith(" ")
    assert RandomInsert(synonyms=thesaurus)(["the is of"]) == ["the is of"]  # nothing to insert: unchanged


def test_edge_cases_and_bad_input(thesaurus):
    for op in (SynonymReplace(synonyms=thesaurus), RandomInsert(synonyms=thesaurus), RandomSwap(), RandomDelete()):
        assert op(["", "   ", "wow", "!!!", "😀 电影"])[:4] == ["", "   ", "wow", "!!!"]
        with pytest.raises(TypeError, match="text 1 is NoneType"):
            op(["fine", None])
        with pytest.raises(TypeError, match="list of texts"):
            op("a single text")
    long = " ".join(["movie good"] * 5000)
    assert len(words_of(RandomSwap(alpha=0.1)([long])[0])) == 10000
    with pytest.raises(ValueError, match="alpha"):
        SynonymReplace(alpha=2)
    with pytest.raises(ValueError, match="n_aug"):
        EDA(n_aug=0, synonyms=thesaurus)


def test_chinese_text_is_edited_by_jieba_words_without_spaces(thesaurus):
    text = "这部电影的故事很好，演员也不错。"
    words = words_of(text)
    assert "电影" in words and "演员" in words
    replaced = {SynonymReplace(alpha=1.0, synonyms=thesaurus)([text], k=k)[0] for k in range(5)}
    assert any("影片" in out for out in replaced)
    for op in (RandomSwap(0.5), RandomDelete(0.3), RandomInsert(0.5, synonyms=thesaurus)):
        for k in range(5):
            out = op([text], k=k)[0]
            assert " " not in out and out.endswith("。") and "，" in out
    swapped = RandomSwap(0.5)([text], k=3)[0]
    assert sorted(words_of(swapped)) == sorted(words)


def test_chinese_dictionary_synonyms(thesaurus):
    assert thesaurus.synonyms("电影") == ("影片",)
    assert set(thesaurus.synonyms("boring")) == {"dull", "tedious"}
    with pytest.raises(FileNotFoundError, match="does not exist"):
        DictionarySynonyms("/nonexistent/synonyms.txt")


def test_eda_recipe_gives_n_aug_keyed_variants(thesaurus):
    recipe = EDA(alpha_sr=0.2, alpha_ri=0.2, alpha_rs=0.2, p_rd=0.2, n_aug=6, synonyms=thesaurus, seed=3)
    texts = ["The movie was not good, and the plot was boring.", "A great film."]
    out = recipe.generate(texts)
    assert [len(row) for row in out] == [6, 6]
    assert out == recipe.generate(texts) and out[0] == recipe.generate(texts[:1])[0]
    assert [row[2] for row in out] == recipe(texts, k=2)
    assert len(set(out[0])) > 2 and all("not" in variant for variant in out[0])


@pytest.mark.skipif(not (DEBIAN_WORDNET / "data.noun").exists(), reason="WordNet 3.0 is not installed")
def test_wordnet_synonyms_equal_nltks_synsets(real_sentences):
    import warnings

    from maskkit.corpora.wordnet import load_wordnet

    synonyms = WordNetSynonyms()
    assert {"film", "picture", "flick"} <= set(synonyms.synonyms("Movies"))
    assert "movie" not in synonyms.synonyms("movie")
    assert synonyms.synonyms("qwertyuiop") == ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wordnet = load_wordnet()
    words = sorted({w.lower() for text in real_sentences[:150] for w in words_of(text)})
    words += ["geese", "running", "better", "wolves", "was", "mice", "analyses", "unable", "atlantic"]
    for word in words:
        expected = {name.replace("_", " ").lower() for s in wordnet.synsets(word) for name in s.lemma_names()} - {word}
        assert set(synonyms.synonyms(word)) == expected, word


NEGATION_SENTENCES = ["No one laughed at the jokes.", "It was never funny and nothing happened.", "Not bad at all."]


@pytest.mark.skipif(not DEBIAN_WORDNET.is_dir(), reason="WordNet 3.0 is not installed (apt-get install wordnet-base)")
def test_eda_never_rewrites_negations_or_function_words():
    """Negations and function words are never replaced, never inserted and never insertion sources
    ("No one laughed" once became "No one laughed nobelium", "never" "ne'er", "nothing" "null")."""
    from maskkit.text.stopwords import FUNCTION_WORDS

    eda = EDA(alpha_sr=0.5, alpha_ri=0.5, alpha_rs=0.0, p_rd=0.0, n_aug=8, seed=0)
    for text, outputs in zip(NEGATION_SENTENCES, eda.generate(NEGATION_SENTENCES)):
        protected = [w.lower() for w in words_of(text) if w.lower() in FUNCTION_WORDS or is_negation(w)]
        for out in outputs:
            words = [w.lower() for w in words_of(out)]
            assert all(words.count(w) == protected.count(w) for w in set(protected)), (text, out)  # not replaced
            assert not {"nobelium", "ne'er", "null", "non"} & set(words), out  # nor inserted
    # no function word is a target or a source, and no synonym offered is a function word or a negation
    replace = eda.operations[0]
    for text in NEGATION_SENTENCES:
        _, tokens = split_tokens(text)
        options = replace.synonym_options(tokens, [i for i, t in enumerate(tokens) if t.is_word])
        assert options and all(tokens[i].text.lower() not in FUNCTION_WORDS for i in options)
        assert all(s.lower() not in FUNCTION_WORDS and not is_negation(s) for o in options.values() for s in o)


def test_content_words_of_broad_stop_lists_can_change(tmp_path):
    """scikit-learn's stop list holds content words (empty, fire); EDA's function-word list does not."""
    path = tmp_path / "syn.txt"
    path.write_text("empty vacant\nfire blaze\n")
    out = SynonymReplace(alpha=1.0, synonyms=DictionarySynonyms(path), seed=0)(["an empty room on fire"])[0]
    assert out == "an vacant room on blaze"


def test_the_paper_settings_by_training_set_size(thesaurus):
    for n, alpha, n_aug in ((500, 0.05, 16), (2000, 0.05, 8), (5000, 0.1, 4), (100_000, 0.1, 4)):
        eda = EDA.for_training_size(n, synonyms=thesaurus, seed=3)
        strengths = (eda.alpha_sr, eda.alpha_ri, eda.alpha_rs, eda.p_rd)
        assert strengths == (alpha,) * 4 and eda.n_aug == n_aug
        assert eda.seed == 3
    with pytest.raises(ValueError, match="sets \\['n_aug'\\] from the paper's table"):
        EDA.for_training_size(500, n_aug=2)


def test_random_insertion_equals_the_sequential_algorithm_on_long_and_short_texts(thesaurus):
    """Blocks make insertion near-linear on a long document; each step must still pick a uniform word of
    the text as it stands and give the new word the spacing after it, exactly as one list would."""
    import random

    from maskkit.augment.eda import Blocks
    from maskkit.augment.text import Token, gap

    def sequential(tokens, n_words, steps, rng):  # the reference: one list, recounted after each insertion
        for _ in range(steps):
            word_positions = [i for i, t in enumerate(tokens) if t.is_word]
            after = word_positions[rng.randrange(n_words)]
            new = Token(f"new{rng.randrange(1000)}", " ")
            new.space, tokens[after].space = tokens[after].space, gap(tokens[after].text, new.text)
            tokens.insert(after + 1, new)
            n_words += 1
        return tokens

    def blocked(tokens, n_words, steps, rng):
        sequence = Blocks(tokens)
        for _ in range(steps):
            block, at = sequence.word(rng.randrange(n_words))
            new = Token(f"new{rng.randrange(1000)}", " ")
            new.space, block[at].space = block[at].space, gap(block[at].text, new.text)
            sequence.insert(block, at + 1, new)
            n_words += 1
        return sequence.tokens()

    for size, steps in ((3, 5), (40, 30), (3000, 900)):
        text = " ".join(random.Random(size).choice(["movie", "good", ",", "great", "!", "plot"]) for _ in range(size))
        _, tokens = split_tokens(text)
        n_words = sum(t.is_word for t in tokens)
        if not n_words:
            continue
        expected = sequential([Token(t.text, t.space) for t in tokens], n_words, steps, random.Random(7))
        got = blocked([Token(t.text, t.space) for t in tokens], n_words, steps, random.Random(7))
        assert join_tokens("", got) == join_tokens("", expected)
    long_text = " ".join(["the good movie , a great plot"] * 3000)  # 18,000 words: blocks, no quadratic loop
    assert len(words_of(RandomInsert(alpha=0.1, synonyms=thesaurus)([long_text])[0])) == 18_000 + 1_800


def test_negations_never_change_on_real_sentences_with_negations(real_sentences):
    """EDA at the paper's strengths over real movie-review sentences that hold a negation: no output adds,
    drops or moves one, not even through a multi-word WordNet synonym ("not bad" for "great")."""
    from maskkit.augment.eda import EDA

    if not (DEBIAN_WORDNET / "data.noun").is_file():
        pytest.skip("WordNet 3.0 is not installed (apt-get install wordnet-base)")
    with_negation = [t for t in real_sentences if any(is_negation(w) for w in words_of(t))]
    assert len(with_negation) >= 40
    eda = EDA(alpha_sr=0.1, alpha_ri=0.1, alpha_rs=0.1, p_rd=0.1, n_aug=9, seed=3)
    outputs = 0
    for k in range(9):
        for text, out in zip(with_negation, eda(with_negation, k=k)):
            if out is None:
                continue
            outputs += 1
            assert [w.lower() for w in words_of(out) if is_negation(w)] == [
                w.lower() for w in words_of(text) if is_negation(w)
            ], (text, out)
    assert outputs > 300
    great = RandomInsert(alpha=1.0, synonyms=WordNetSynonyms())
    for k in range(50):  # "great" has the WordNet synonym "not bad": never inserted
        assert not any(is_negation(w) for w in words_of(great(["a great monster movie"], k=k)[0]))
