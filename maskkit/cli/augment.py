"""`maskkit augment IN OUT`: writes an augmented copy of a table (EDA or back-translation), resumably."""

from __future__ import annotations

import argparse
from typing import Any

from maskkit.cli.settings_help import setting_help
from maskkit.errors import InputError

COMING_FROM = """
coming from TextAttack:
  textattack augment --input-csv IN --output-csv OUT --input-column C --recipe eda --pct-words-to-swap P
      --transformations-per-example N
  is: maskkit augment IN OUT --text-column C --method eda --aug-p P --n-aug N
  (recipes: eda -> eda, wordnet -> sr, back_trans -> bt; Augmenter.augment(text) -> aug.augment(text, n=N))
coming from nlpaug:
  naw.SynonymAug(aug_p=P).augment(text, n=N)   -> --method sr --alpha-sr P --n-aug N, or SynonymReplace(P)
  naw.RandomWordAug(action="swap" / "delete")  -> --method rs / rd;  naw.BackTranslationAug -> --method bt
  every maskkit augmenter has .augment(text or texts, n=N) in Python; an nlpaug one runs as Nlpaug(aug)"""


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "augment",
        help="write an augmented copy of a CSV/TSV/JSONL file or a save_to_disk folder",
        description="Reads IN, adds N augmentations of every row (every column kept, plus source_row, "
        "aug_method and aug_index), and writes OUT in the format its name gives. A killed run resumes "
        "when rerun with the same options.\n" + COMING_FROM,
    )
    parser.add_argument("input", metavar="IN", help="labelled table: CSV, TSV, JSONL or a save_to_disk folder")
    parser.add_argument(
        "output",
        metavar="OUT",
        help="where the augmented table goes (format from the suffix; none: save_to_disk)",
    )
    parser.add_argument(
        "--method",
        choices=["eda", "sr", "ri", "rs", "rd", "bt"],
        default="eda",
        help="eda (all four operations, the paper's recipe), one EDA operation (sr, ri, rs, rd) or bt "
        "(back-translation); default eda",
    )
    parser.add_argument(
        "--augmenter",
        metavar="TOML",
        help="a TOML file whose `augmenter` table is a component spec (maskkit.registry), for any registered "
        'augmenter or combination: augmenter = { "@component" = "maskkit.augment.one_of.v1", augmenters = '
        "[...] }; replaces --method and its options",
    )
    parser.add_argument(
        "--n-aug",
        type=int,
        default=4,
        help="augmentations per row (default 4; EDA's paper: 16 at 500 rows, 4 from 5,000); TextAttack's "
        "--transformations-per-example, nlpaug's augment(n=)",
    )
    parser.add_argument("--text-column", default="text", help=setting_help("text_column", "text"))
    parser.add_argument("--no-original", action="store_true", help="leave the original rows out")
    parser.add_argument("--seed", type=int, default=0, help="seed of the augmentations (default 0)")
    parser.add_argument("--alpha-sr", type=float, default=0.1, help=setting_help("alpha_sr", 0.1))
    parser.add_argument("--alpha-ri", type=float, default=0.1, help=setting_help("alpha_ri", 0.1))
    parser.add_argument("--alpha-rs", type=float, default=0.1, help=setting_help("alpha_rs", 0.1))
    parser.add_argument("--p-rd", type=float, default=0.1, help=setting_help("p_rd", 0.1))
    parser.add_argument(
        "--aug-p",
        type=float,
        help="eda: one strength for all four operations (the paper's alpha; TextAttack's --pct-words-to-swap, "
        "nlpaug's aug_p), instead of --alpha-sr/--alpha-ri/--alpha-rs/--p-rd",
    )
    parser.add_argument("--synonyms", help="a thesaurus file (one group per line) instead of WordNet")
    parser.add_argument("--wordnet", default="/usr/share/wordnet", help="WordNet 3.0 database folder")
    parser.add_argument(
        "--pivot",
        nargs="+",
        default=["es"],
        help="bt: pivot language(s); the k-th augmentation goes through pivot k mod len (Apertium: es, eo, gl, ca; "
        "it is deterministic, so one paraphrase per pivot)",
    )
    parser.add_argument(
        "--bt-models",
        nargs=2,
        metavar=("TO_PIVOT", "FROM_PIVOT"),
        help="bt: two seq2seq model folders or cached hub ids (e.g. Helsinki-NLP/opus-mt-en-de), not Apertium; "
        "samples with temperature 0.8, a different paraphrase for each of the --n-aug",
    )
    parser.add_argument("--cache", help="bt: translation cache file (default: OUT.translations.sqlite)")
    parser.add_argument(
        "--shard-size",
        type=int,
        default=1000,
        help="rows per resumable shard: a killed job redoes at most one (default 1000)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace OUT, or an unfinished job's parts")
    parser.add_argument(
        "--tsv",
        choices=["quoted", "raw"],
        default="quoted",
        help="TSV dialect for IN and OUT: quoted (default; as pandas, datasets and Python's csv write it: fields "
        "holding a tab, quote or line break are quoted) or raw (no quoting: a field is every character between tabs)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress (a bar on a terminal, else a line every 30 s on stderr)"
    )
    parser.set_defaults(run=run)


def build_augmenter(args: argparse.Namespace) -> Any:
    from maskkit.augment import EDA, BackTranslate, DictionarySynonyms, Seq2SeqTranslator, WordNetSynonyms
    from maskkit.augment.eda import RandomDelete, RandomInsert, RandomSwap, SynonymReplace
    from maskkit.augment.translate import ApertiumTranslator

    if args.augmenter:
        from maskkit.cli.config import load_toml
        from maskkit.errors import MissingKey
        from maskkit.registry import entry_of, from_dict

        spec = load_toml(args.augmenter).get("augmenter")
        if not isinstance(spec, dict):
            raise MissingKey(f"{args.augmenter}: no `augmenter` table (a component spec)")
        augmenter = from_dict(spec)
        if entry_of(augmenter).kind != "augmenter":
            raise InputError(f"{args.augmenter}: {spec.get('@component')!r} is not an augmenter")
        return augmenter
    if args.method == "bt":
        translator: Any = ApertiumTranslator()
        if args.bt_models:
            to_pivot, from_pivot = args.bt_models
            if len(args.pivot) != 1:
                raise InputError("--bt-models translate through one pivot: give one --pivot")
            pivot = args.pivot[0]
            translator = Seq2SeqTranslator({("en", pivot): to_pivot, (pivot, "en"): from_pivot})
        return BackTranslate(
            translator, pivot=tuple(args.pivot), cache=args.cache or args.output + ".translations.sqlite"
        )
    for name in ("alpha_sr", "alpha_ri", "alpha_rs", "p_rd"):  # named as the user gave them, before any work
        value = getattr(args, name)
        if not 0.0 <= value <= 1.0:
            raise InputError(f"--{name.replace('_', '-')} must be in [0, 1], got {value}")
    synonyms = DictionarySynonyms(args.synonyms) if args.synonyms else WordNetSynonyms(args.wordnet)
    if args.method == "eda":
        return EDA(args.alpha_sr, args.alpha_ri, args.alpha_rs, args.p_rd, n_aug=args.n_aug, seed=args.seed,
                   synonyms=synonyms, aug_p=args.aug_p)  # fmt: skip
    if args.aug_p is not None:
        raise InputError(f"--aug-p sets EDA's four strengths (--method eda); --method {args.method} takes its own")
    return {
        "sr": lambda: SynonymReplace(args.alpha_sr, synonyms=synonyms, seed=args.seed),
        "ri": lambda: RandomInsert(args.alpha_ri, synonyms=synonyms, seed=args.seed),
        "rs": lambda: RandomSwap(args.alpha_rs, seed=args.seed),
        "rd": lambda: RandomDelete(args.p_rd, seed=args.seed),
    }[args.method]()


def run(args: argparse.Namespace) -> int:
    from maskkit.augment.dataset import MAX_N_AUG
    from maskkit.augment.job import run_augment_job
    from maskkit.registry import spec_of
    from maskkit.runs.tables import table_format

    if not 1 <= args.n_aug <= MAX_N_AUG:
        raise InputError(f"--n-aug must be from 1 to {MAX_N_AUG}, got {args.n_aug}")
    table_format(args.output)  # an unknown OUT format is refused before any work
    augmenter = build_augmenter(args)
    options = {"method": "spec" if args.augmenter else args.method, "n_aug": args.n_aug,
               "text_column": args.text_column, "keep_original": not args.no_original,
               "augmenter": spec_of(augmenter)}  # fmt: skip
    summary = run_augment_job(
        args.input, augmenter, args.output, options, n_aug=args.n_aug, text_column=args.text_column,
        keep_original=not args.no_original, shard_size=args.shard_size, overwrite=args.overwrite,
        progress=not args.quiet, tsv=args.tsv,
    )  # fmt: skip
    print(f"maskkit augment: wrote {args.output}")
    for line in summary.lines():
        print("  " + line)
    return 0
