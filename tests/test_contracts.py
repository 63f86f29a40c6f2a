"""Contract tests over every registered component (maskkit.registry): spec round trip (JSON and TOML) with
identical output, pickling, determinism, a stable `datasets` fingerprint; and a guard that every public
component is registered and has an example here."""

from __future__ import annotations

import dataclasses
import json
import pickle
import shutil
import tomllib

import numpy as np
import pytest
from datasets.fingerprint import Hasher

from maskkit import (
    MaskingCollator,
    MaskRandomKeep,
    OneOfSelectors,
    ScoredSelector,
    SimilarWordReplace,
    SpanSelector,
    TokenSelector,
    UnitSelector,
    WholeWordSelector,
)
from maskkit.augment import (
    EDA,
    ApertiumTranslator,
    BackTranslate,
    Compose,
    DictionarySynonyms,
    Nlpaug,
    OneOf,
    RandomDelete,
    RandomInsert,
    RandomSwap,
    Seq2SeqTranslator,
    SomeOf,
    Sometimes,
    SynonymReplace,
    WordNetSynonyms,
)
from maskkit.cli.config import toml_value
from maskkit.masking.schemes import make_selector
from maskkit.registry import REGISTRY, catalogue, entry_of, from_dict, to_dict
from tests.conftest import SENTENCES

NAMES = sorted(name for name, entry in catalogue().items() if entry.kind != "recipe")
HAS_APERTIUM = shutil.which("apertium") is not None


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    path = tmp_path_factory.mktemp("syn") / "synonyms.txt"
    path.write_text("movie film picture\ngood fine decent\ngreat terrific\nboring dull, tedious\n")
    thesaurus = DictionarySynonyms(path)
    swap, delete = RandomSwap(0.3, seed=1), RandomDelete(0.3, seed=2)
    return {
        "maskkit.token.v1": TokenSelector(0.3),
        "maskkit.whole_word.v1": WholeWordSelector(0.3, budget="bernoulli"),
        "maskkit.span.v1": SpanSelector(0.3, max_predictions=5),
        "maskkit.ngram.v1": make_selector("ngram", rate=0.3),
        "maskkit.unit.v1": UnitSelector(0.3, column=None, lexicon=("the movie", "lazy dog")),
        "maskkit.scored.v1": ScoredSelector(0.3, exclude_words=("the",)),
        "maskkit.one_of_selectors.v1": OneOfSelectors([WholeWordSelector(), SpanSelector()], weights=[0.3, 0.7]),
        "maskkit.mask_random_keep.v1": MaskRandomKeep(0.7, 0.2, 0.1, per="unit"),
        "maskkit.similar_word.v1": SimilarWordReplace(synonyms=thesaurus),
        "maskkit.synonym_replace.v1": SynonymReplace(0.3, synonyms=thesaurus, seed=3),
        "maskkit.random_insert.v1": RandomInsert(0.3, synonyms=thesaurus, seed=4),
        "maskkit.random_swap.v1": swap,
        "maskkit.random_delete.v1": delete,
        "maskkit.eda.v1": EDA(0.2, 0.2, 0.2, 0.2, n_aug=3, synonyms=thesaurus, seed=5, stop_words=frozenset({"the"})),
        "maskkit.augment.compose.v1": Compose([swap, delete], seed=6),
        "maskkit.augment.one_of.v1": OneOf([swap, delete], weights=[1, 2], seed=7),
        "maskkit.augment.some_of.v1": SomeOf([swap, delete], n=1, seed=8),
        "maskkit.augment.sometimes.v1": Sometimes([delete], p=0.5, seed=9),
        "maskkit.backtranslate.v1": BackTranslate(ApertiumTranslator(), pivot=("es", "eo")),
        "maskkit.apertium.v1": ApertiumTranslator(),
        "maskkit.seq2seq.v1": Seq2SeqTranslator(
            {("en", "de"): "models/en-de"}, temperature=0.7, generate_kwargs={"num_beams": 2}
        ),
        "maskkit.wordnet_synonyms.v1": WordNetSynonyms(),
        "maskkit.dictionary_synonyms.v1": thesaurus,
        "maskkit.nlpaug.v1": Nlpaug(_Upper(), seed=1),
    }


class _Upper:  # a stand-in for an nlpaug augmenter
    def augment(self, text):
        return text.upper()

    def __eq__(self, other):
        return isinstance(other, _Upper)

    def __hash__(self):
        return 0


def output(component, wordpiece):
    """What the component does, as comparable values (None where it needs a model this test does not have)."""
    kind = entry_of(component).kind
    if kind in ("selector", "corruption"):
        role = "selector" if kind == "selector" else "corruption"
        rows = [{"input_ids": ids} for ids in wordpiece(SENTENCES)["input_ids"]]
        rows = [{**r, "importance": list(np.linspace(0, 1, len(r["input_ids"])))} for r in rows]
        batch = MaskingCollator(wordpiece, **{role: component}, return_tensors="np")(rows)
        return batch["input_ids"].tolist(), batch["labels"].tolist()
    if kind == "augmenter":
        if isinstance(component, BackTranslate) and not HAS_APERTIUM:
            pytest.skip("apertium is not installed (make system installs it)")
        return [component(SENTENCES[:4], k=k) for k in range(2)]
    if kind == "synonyms":
        return [component.synonyms(w) for w in ("good", "movie", "boring")]
    if isinstance(component, ApertiumTranslator) and HAS_APERTIUM:
        return component.translate(SENTENCES[:2], "en", "es")
    return None


def serialisable(name):
    return REGISTRY[name].why_not is None


def test_every_registered_component_has_an_example_here(examples):
    assert sorted(examples) == NAMES


# Public classes that are not components: data, protocols, stages over datasets, helpers.
NOT_COMPONENTS = {"Selection", "MaskingBatch", "MissingColumnError", "VocabTables", "MaskingCollator", "Tokenize",
                  "StaticMask", "PackBlocks", "EpochCallback", "PretrainConfig", "MaskedLMTrainer", "FinetuneConfig",
                  "PooledClassifier", "DistillConfig", "DistillationTrainer", "SelectiveConfig", "Augment",
                  "LabelConsistency", "TranslationCache", "Translator", "SynonymSource", "Augmenter", "Corruption",
                  "NeedsTokenizer", "ReadsColumns", "Selector"}  # fmt: skip


def test_every_public_component_is_registered():
    import warnings

    import maskkit
    import maskkit.augment

    registered = {e.cls for e in catalogue().values() if e.cls is not None}
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for module in (maskkit, maskkit.augment):
            for name in module.__all__:
                value = getattr(module, name)
                if isinstance(value, type) and name not in NOT_COMPONENTS:
                    found.append(value)
    unregistered = sorted(c.__name__ for c in found if c not in registered)
    assert not unregistered, f"public classes neither registered nor listed as non-components: {unregistered}"


@pytest.mark.parametrize("name", NAMES)
def test_spec_round_trip_gives_an_equal_component_with_the_same_output(name, examples, wordpiece):
    component = examples[name]
    if not serialisable(name):
        with pytest.raises(TypeError, match="cannot be serialised"):
            to_dict(component)
        return
    spec = to_dict(component)
    assert spec["@component"].startswith("maskkit.") and spec["@component"].rsplit(".", 1)[1].startswith("v")
    through_json = from_dict(json.loads(json.dumps(spec)))
    through_toml = from_dict(tomllib.loads(f"spec = {toml_value(spec)}")["spec"])
    assert through_json == component and through_toml == component
    assert to_dict(through_json) == spec
    assert output(through_json, wordpiece) == output(component, wordpiece)


@pytest.mark.parametrize("name", NAMES)
def test_pickled_deterministic_and_stable_fingerprint(name, examples, wordpiece):
    component = examples[name]
    clone = pickle.loads(pickle.dumps(component))
    assert clone == component
    first = output(component, wordpiece)
    assert output(component, wordpiece) == first  # the same draws every call
    assert output(clone, wordpiece) == first
    assert Hasher.hash(clone) == Hasher.hash(component)
    if serialisable(name):
        assert Hasher.hash(from_dict(to_dict(component))) == Hasher.hash(component)
    if dataclasses.is_dataclass(component):
        with pytest.raises(dataclasses.FrozenInstanceError):
            object.__getattribute__(component, "__setattr__")("seed", 1)


def test_masking_components_change_output_with_their_parameters(examples, wordpiece):
    """The round trip is not vacuous: a changed parameter changes the spec and the masks."""
    span = examples["maskkit.span.v1"]
    other = dataclasses.replace(span, rate=0.6)
    assert to_dict(other) != to_dict(span)
    assert output(other, wordpiece) != output(span, wordpiece)


def test_bad_specs_are_named():
    with pytest.raises(ValueError, match="unknown component 'maskkit.wwm.v1'"):
        from_dict({"@component": "maskkit.wwm.v1"})
    with pytest.raises(TypeError, match=r"maskkit.span.v1: .*'ratio'"):
        from_dict({"@component": "maskkit.span.v1", "ratio": 0.2})
    with pytest.raises(KeyError, match="@component"):
        from_dict({"rate": 0.2})
    with pytest.raises(ValueError, match="unknown masking scheme 'wwm'.*token"):
        make_selector("wwm")


def test_every_named_recipe_is_registered_under_a_versioned_name():
    from maskkit.distill.recipes import DISTILL_RECIPES
    from maskkit.registry import recipe_name
    from maskkit.selective.recipes import PROFILES, RECIPES

    for family, recipes in (("selective", {**RECIPES, **PROFILES}), ("distill", DISTILL_RECIPES)):
        for short, values in recipes.items():
            name = recipe_name(family, short)
            assert name == f"maskkit.{family}.{short}.v1"
            assert from_dict({"@component": name}) == values
    assert sorted(catalogue("recipe")) == sorted(
        f"maskkit.{f}.{s}.v1" for f, r in (("selective", {**RECIPES, **PROFILES}), ("distill", DISTILL_RECIPES))
        for s in r
    )  # fmt: skip


def test_every_registered_component_satisfies_the_protocol_of_its_kind(examples):
    """The collator and the dataset stage ask `isinstance(x, Protocol)`, not `hasattr`: each registered
    selector, corruption and augmenter must be one."""
    from maskkit.augment.dataset import Augmenter
    from maskkit.masking.selectors import Corruption, Selector
    from maskkit.registry import catalogue

    protocols = {"selector": Selector, "corruption": Corruption, "augmenter": Augmenter}
    checked = 0
    for name, entry in catalogue().items():
        if entry.kind in protocols and name in examples:
            assert isinstance(examples[name], protocols[entry.kind]), name
            checked += 1
    assert checked >= 15
    assert not isinstance(object(), Selector) and not isinstance(lambda: None, Corruption)
