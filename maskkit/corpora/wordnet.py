"""WordNet 3.0 read offline with nltk: glosses and examples as the default corpus, lexicographer files
(noun.animal, verb.motion, ...) as the default classification labels.

Debian's `wordnet-base` puts the database in /usr/share/wordnet. nltk reads it once the files are
copied (nltk refuses symlinks that leave its data roots) into `<data>/corpora/wordnet/` with a
`lexnames` file, which Debian lacks; `nltk_wordnet_dir` does this once per cache directory.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from maskkit.errors import InputError, MissingFile
from maskkit.runs.files import atomic_path

DEBIAN_WORDNET = Path("/usr/share/wordnet")
WORDNET_FILES = (
    "data.adj", "data.adv", "data.noun", "data.verb", "index.adj", "index.adv", "index.noun", "index.verb",
    "index.sense", "adj.exc", "adv.exc", "noun.exc", "verb.exc", "cntlist.rev",
)  # fmt: skip
# The fixed table of lexicographer files (man 5 lexnames): number, name, syntactic category.
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body "
    "noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location "
    "noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change "
    "verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
_DATA_ORDER = ("noun", "verb", "adj", "adv")  # nltk's order of parts of speech


def cache_dir() -> Path:
    return Path(os.environ.get("MASKKIT_CACHE", Path.home() / ".cache" / "maskkit"))


def nltk_wordnet_dir(source: Path = DEBIAN_WORDNET, target: Path | None = None) -> Path:
    """Returns an nltk data root holding corpora/wordnet, copying Debian's files there on first use."""
    root = target or cache_dir() / "nltk_data"
    wordnet = root / "corpora" / "wordnet"
    if (wordnet / "lexnames").exists() and (wordnet / "data.noun").exists():
        return root
    missing = [f for f in WORDNET_FILES if not (source / f).exists()]
    if missing:
        raise MissingFile(
            f"WordNet 3.0 is not installed at {source} (missing {', '.join(missing[:3])}): install it with "
            "`apt-get install wordnet-base wordnet-sense-index` (the Makefile does this), or pass another folder"
        )
    with atomic_path(wordnet) as tmp:
        os.makedirs(tmp)
        for name in WORDNET_FILES:
            shutil.copyfile(source / name, os.path.join(tmp, name))
        lines = [f"{i:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}" for i, name in enumerate(LEXNAMES)]
        Path(tmp, "lexnames").write_text("\n".join(lines) + "\n")
    return root


def load_wordnet(source: Path = DEBIAN_WORDNET) -> Any:
    """Opens WordNet 3.0 with nltk's reader, offline."""
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    root = str(nltk_wordnet_dir(source))
    if root not in nltk.data.path:  # nltk only reads corpora under its data roots
        nltk.data.path.insert(0, root)
    return WordNetCorpusReader(os.path.join(root, "corpora", "wordnet"), None)


def wordnet_glosses(
    source: Path = DEBIAN_WORDNET, examples: bool = True, limit_per_pos: int | None = None
) -> list[dict[str, str]]:
    """Lists synsets' glosses (and example sentences) with their lexicographer file as `label`.

    All of WordNet gives about 118k glosses and 48k examples; `limit_per_pos` reads only the first synsets
    of each part of speech. Rows are {"text", "label", "synset"}, in nltk's order and with nltk's synset
    names, definitions and examples (`tests/test_corpora.py` holds them equal to nltk's reader), read
    straight from the database files: about 2 s instead of nltk's 20.
    """
    import re

    missing = [f for f in WORDNET_FILES if not (source / f).exists()]
    if missing:
        raise MissingFile(
            f"WordNet 3.0 is not installed at {source} (missing {', '.join(missing[:3])}): install it with "
            "`apt-get install wordnet-base wordnet-sense-index` (the Makefile does this), or pass another folder"
        )
    data = {name: (source / f"data.{name}").read_text(encoding="utf-8").splitlines() for name in _DATA_ORDER}
    satellites = {int(fields[0]) for fields in (line.split(None, 3) for line in data["adj"] if line[:1].strip())
                  if fields[2] == "s"}  # fmt: skip
    senses: dict[tuple[str, str], list[int]] = {}  # (lemma, pos) -> its synsets' offsets, in sense order
    for name in _DATA_ORDER:
        for line in (source / f"index.{name}").read_text(encoding="utf-8").splitlines():
            if not line or line[0].isspace():
                continue
            fields = line.split()
            synsets, pointers = int(fields[2]), int(fields[3])
            offsets = [int(x) for x in fields[6 + pointers : 6 + pointers + synsets]]
            senses[(fields[0], fields[1])] = offsets
            if fields[1] == "a":  # a satellite's sense number counts the lemma's satellites only, as in nltk
                senses[(fields[0], "s")] = [offset for offset in offsets if offset in satellites]
    quoted, marker = re.compile(r"[\"].*?[\"]"), re.compile(r"\([^()]*\)$")
    rows = []
    for name in _DATA_ORDER:
        count = 0
        for line in data[name]:
            if not line or line[0].isspace():
                continue
            if limit_per_pos is not None and count >= limit_per_pos:
                break
            count += 1
            columns, gloss = line.strip().split("|")
            fields = columns.split()
            offset, pos, lemma = int(fields[0]), fields[2], marker.sub("", fields[4]).lower()
            synset = f"{lemma}.{pos}.{senses[(lemma, pos)].index(offset) + 1:02d}"
            label = LEXNAMES[int(fields[1])]
            rows.append({"text": quoted.sub("", gloss).strip().strip("; "), "label": label, "synset": synset})
            if examples:
                rows.extend({"text": e, "label": label, "synset": synset} for e in re.findall(r'"([^"]*)"', gloss))
    return rows


def wordnet_classification(
    source: Path = DEBIAN_WORDNET, classes: int = 8, sizes: tuple[int, int, int] = (200, 50, 50), pos: str = "noun"
) -> dict[str, list[dict[str, str]]]:
    """The default classification task: glosses labelled by lexicographer file (noun.animal, ...).

    Takes the `classes` most frequent lexicographer files of `pos` and, for each, `sizes` glosses for
    train / dev / test, chosen by a stable hash of the synset name (the same on every machine). The
    `unlabelled` split holds every other gloss of WordNet: in-domain text for further pre-training.
    """
    import hashlib
    from collections import Counter

    if classes < 2:
        raise InputError(f"classes must be >= 2, got {classes}")
    rows = wordnet_glosses(source, examples=False)
    counts = Counter(r["label"] for r in rows if r["label"].startswith(pos + "."))
    chosen = [label for label, _ in counts.most_common(classes)]
    order = sorted(range(len(rows)), key=lambda i: hashlib.blake2b(rows[i]["synset"].encode(), digest_size=8).digest())
    splits: dict[str, list[dict[str, str]]] = {"train": [], "dev": [], "test": [], "unlabelled": []}
    taken: Counter[tuple[str, str]] = Counter()
    for i in order:
        row = rows[i]
        for name, size in zip(("train", "dev", "test"), sizes):
            if row["label"] in chosen and taken[(name, row["label"])] < size:
                taken[(name, row["label"])] += 1
                splits[name].append({"text": row["text"], "label": row["label"]})
                break
        else:
            splits["unlabelled"].append({"text": row["text"], "label": row["label"]})
    return splits
