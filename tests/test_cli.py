"""The command line: preview output (plain when piped, coloured on request), errors, and the demo job."""

from __future__ import annotations

import pytest

from maskkit.cli.main import main


def test_preview_plain_text_shows_every_scheme(capsys):
    assert main(["preview", "--text", "The movie was not good at all.", "--rate", "0.4", "--lexicon", "not good"]) == 0
    out = capsys.readouterr().out
    for name in ("token", "word", "span", "unit"):
        assert f"== {name}:" in out
    assert "->[MASK]]" in out and "\033[" not in out and "legend:" in out


def test_preview_shows_every_registered_selector_and_corruption(tmp_path, tiny_model_dir, capsys):
    """PMI units from maskkit pmi's lexicon file, a mix of schemes, MacBERT's similar-word correction, the
    span boundary pairs, and selective masking by an importance classifier's scores."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("special effects were great\n" * 12 + "the plot was thin\n" * 12)
    lexicon = tmp_path / "lexicon.txt"
    assert main(["pmi", str(corpus), str(lexicon), "--max-n", "2", "--min-count", "3"]) == 0
    classifier = tmp_path / "classifier"
    AutoModelForTokenClassification.from_pretrained(tiny_model_dir, num_labels=2).save_pretrained(classifier)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(classifier)
    capsys.readouterr()
    text = "The special effects were great but the plot was thin."
    assert main(["preview", "--text", text, "--model", tiny_model_dir, "--lexicon-file", str(lexicon),
                 "--importance", str(classifier), "--rate", "0.3"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    for name in ("token", "word", "span", "ngram", "unit", "one_of_selectors", "similar_word", "scored"):
        assert f"== {name}:" in out, name
    assert "UnitSelector" in out and "SimilarWordReplace" in out and "ScoredSelector" in out
    assert "boundary pairs: " in out.split("== span:")[1].split("== ngram:")[0]


def test_preview_colour_and_file_input(tmp_path, capsys):
    path = tmp_path / "texts.txt"
    path.write_text("first line of text here\n\nsecond line of text\n")
    assert main(["preview", "--file", str(path), "--scheme", "span", "--rate", "0.5", "--color", "always"]) == 0
    out = capsys.readouterr().out
    rendered = [line for line in out.splitlines() if line.startswith("  ") and not line.startswith("    ")]
    assert "\033[" in out and len(rendered) == 2 and out.count("boundary pairs: ") == 2


def test_cli_errors_are_one_clear_line(capsys, tmp_path):
    assert main(["preview", "--file", str(tmp_path / "missing.txt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["preview", "--scheme", "unit"]) == 2
    assert "--lexicon" in capsys.readouterr().err
    assert main(["preview", "--rate", "2"]) == 2
    assert "rate must be a fraction in (0, 1]" in capsys.readouterr().err
    assert main(["demo", "--model", str(tmp_path / "no-model")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_runs_and_the_loss_goes_down(tmp_path, capsys):
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(f"the {w} sat on the mat and looked at the {w}." for w in ["cat", "dog", "bird"] * 40))
    args = ["demo", "--texts", str(texts), "--steps", "12", "--batch-size", "8", "--max-length", "24", "--lr", "1e-3",
            "--train-size", "100", "--eval-size", "16", "--log-every", "4", "--output-dir", str(tmp_path),
            "--finetune-epochs", "0.05", "--classes", "2"]  # fmt: skip
    assert main(args) == 0
    out, err = capsys.readouterr()
    # what a user sees: no raw Trainer dict, and no report line printed twice (the preview's renderings and
    # progress lines aside: two schemes may well mask a sentence alike)
    assert not [line for line in (out + err).splitlines() if line.lstrip().startswith("{'")]
    lines = [line for line in (out + err).splitlines()
             if line.strip() and not line.startswith(("training", "  the", "    boundary"))]  # fmt: skip
    assert len(lines) == len(set(lines)), sorted(line for line in lines if lines.count(line) > 1)
    before = float(out.split("before: ")[1].split()[0])
    after = float(out.split("after:  ")[1].split()[0])
    assert after < before
    assert "no pretrained MLM head" in out and "step   12/12" in out
    assert "4. Fine-tuning on the default task" in out and "test: accuracy" in out
    assert (tmp_path / "classifier" / "metrics.json").is_file()


def test_user_errors_are_one_line_and_bugs_keep_their_traceback(monkeypatch, capsys):
    """An error the user can fix prints one line (exit 2); any other exception is a bug and raises."""
    import maskkit.cli.preview as preview
    from maskkit.errors import InputError

    def broken(args):
        raise InputError("rate must be in (0, 1], got 2")

    monkeypatch.setattr(preview, "run", broken)
    assert main(["preview"]) == 2
    assert capsys.readouterr().err.strip() == "maskkit preview: error: rate must be in (0, 1], got 2"

    def buggy(args):
        raise ValueError("an internal invariant broke")

    monkeypatch.setattr(preview, "run", buggy)
    with pytest.raises(ValueError, match="internal invariant"):
        main(["preview"])


def test_the_library_raises_its_own_error_family():
    """Every deliberate raise in maskkit/ is a UserError (with its builtin base), never a bare builtin."""
    import re

    from tests.conftest import ROOT

    bare = re.compile(r"raise (ValueError|TypeError|KeyError|FileNotFoundError|FileExistsError|RuntimeError)\(")
    found = [f"{p.relative_to(ROOT)}:{i}" for p in (ROOT / "maskkit").rglob("*.py")
             for i, line in enumerate(p.read_text().splitlines(), 1) if bare.search(line)]  # fmt: skip
    assert found == []


def test_every_option_explains_itself_and_every_example_parses():
    """--help is the manual: each option has help text, each command ends with examples that parse."""
    import argparse
    import shlex

    from maskkit.cli.main import EXAMPLES, build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name, command in commands.items():
        bare = [a.option_strings[-1] for a in command._actions
                if a.option_strings and a.dest != "help" and not (a.help or "").strip()]  # fmt: skip
        assert bare == [], (name, bare)
        assert command.format_help().rstrip().endswith(EXAMPLES[name].rstrip().splitlines()[-1].strip())
        examples = [line.split("#")[0] for line in EXAMPLES[name].splitlines()[1:] if not line.strip().startswith("#")]
        assert len(examples) >= 2
        for line in examples:
            words = shlex.split(line)
            assert words[0] == "maskkit"
            parser.parse_args(words[1:])  # argparse exits on an unknown option or a bad value
