"""Text augmentation for fine-tuning: EDA operations, synonym sources, combinators and dataset stages."""

from maskkit.augment.compose import Compose, OneOf, SomeOf, Sometimes
from maskkit.augment.dataset import Augment, Augmenter, LabelConsistency, augment_dataset
from maskkit.augment.eda import EDA, RandomDelete, RandomInsert, RandomSwap, SynonymReplace
from maskkit.augment.neural import Seq2SeqTranslator
from maskkit.augment.plugins import Nlpaug
from maskkit.augment.translate import ApertiumTranslator, BackTranslate, TranslationCache, Translator
from maskkit.text.synonyms import DictionarySynonyms, SynonymSource, WordNetSynonyms

__all__ = [
    "EDA",
    "ApertiumTranslator",
    "Augment",
    "Augmenter",
    "BackTranslate",
    "Compose",
    "DictionarySynonyms",
    "LabelConsistency",
    "Nlpaug",
    "OneOf",
    "RandomDelete",
    "RandomInsert",
    "RandomSwap",
    "Seq2SeqTranslator",
    "SomeOf",
    "Sometimes",
    "SynonymReplace",
    "SynonymSource",
    "TranslationCache",
    "Translator",
    "WordNetSynonyms",
    "augment_dataset",
]
