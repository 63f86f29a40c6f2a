"""Stop-word lists: English function words (EDA's kind of list), and the broad English list selective
masking leaves unmasked.

EDA (Wei & Zou 2019) protects a short list of function words (pronouns, determiners, prepositions,
conjunctions, auxiliaries and negations): they are never replaced by a synonym, never the source of an
insertion, and content words stay free to change. A broad list such as scikit-learn's
ENGLISH_STOP_WORDS also holds content words (empty, thin, full, fire, interest, cry), which EDA must be
able to change, so it is not EDA's default. Selective masking (Gu et al. 2020) excludes spaCy's broad
`is_stop` list, negations included; `english_stop_words()` is the broad list offline (scikit-learn's,
which also holds not, no, never, nothing, none, nor, cannot).
"""

from __future__ import annotations

from functools import lru_cache

NEGATIONS = frozenset(
    "not no nor never none nothing nobody nowhere neither cannot without hardly barely scarcely".split()
)

_PRONOUNS = """i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his
himself she her hers herself it its itself they them their theirs themselves one who whom whose which
what whoever whatever whichever someone somebody something anyone anybody anything everyone everybody
everything"""
_DETERMINERS = """a an the this that these those each every either both all any some few many much more
most less least several such own other another same"""
_PREPOSITIONS = """of at by for with about against between into through during before after above below
to from up down in out on off over under across along among around behind beneath beside beyond near
onto toward towards upon within via per than"""
_CONJUNCTIONS = """and but or so yet because although though if unless until while whereas whether as
since once then also too very just only even again further here there when where why how now"""
_AUXILIARIES = """am is are was were be been being have has had having do does did doing can could may
might must shall should will would ought 's 're 've 'd 'll 'm"""

FUNCTION_WORDS = (
    frozenset(" ".join((_PRONOUNS, _DETERMINERS, _PREPOSITIONS, _CONJUNCTIONS, _AUXILIARIES)).split()) | NEGATIONS
)


def is_negation(word: str) -> bool:
    lowered = word.lower()
    return lowered in NEGATIONS or lowered.endswith(("n't", "n’t"))


@lru_cache(maxsize=1)
def english_stop_words() -> frozenset[str]:
    """The broad English stop list (scikit-learn's ENGLISH_STOP_WORDS, negations included)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)
