"""`maskkit study`: arms composed of further pre-training, augmentation and self-distillation over seeds,
shared work done once (also by two processes at once), paired statistics in the report."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from maskkit.cli.main import main
from maskkit.training.classify import read_correct_bits
from tests.conftest import LABELLED, ROOT, SENTENCES


def study_file(tmp_path, model_dir, arms, few_shot=8, seeds=(1, 2), top=(), finetune=(), pretrain=()):
    train = tmp_path / "train.tsv"
    train.write_text("text\tlabel\n" + "".join(f"{r['text']}\t{'pos' if r['label'] else 'neg'}\n" for r in LABELLED))
    domain = tmp_path / "domain.txt"
    domain.write_text("\n".join(SENTENCES * 2) + "\n")
    lines = [f'run_dir = "{tmp_path / "study"}"', f'model = "{model_dir}"', f'train = "{train}"', f'dev = "{train}"',
             f'test = "{train}"', f"few_shot = {few_shot}", f"seeds = {list(seeds)}", f'in_domain = "{domain}"',
             'baseline = "none"', *top, "[finetune]", "max_steps = 2", "batch_size = 4", "max_length = 32",
             *finetune, "[pretrain]", "steps = 2", "batch_size = 4", "max_length = 32", "head_warmup_steps = 0",
             *pretrain,
             *arms]  # fmt: skip
    path = tmp_path / "study.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


ARMS = [
    '[[arms]]\nname = "none"',
    '[[arms]]\nname = "span"\npretrain = { scheme = "span" }\nreference = "SpanBERT"',
    '[[arms]]\nname = "span-lr"\npretrain = { scheme = "span" }\nfinetune = { lr = 1e-4 }',
    '[[arms]]\nname = "entropy"\npretrain = { entropy = true }',
    '[[arms]]\nname = "rd"\naugment = { augmenter = { "@component" = "maskkit.random_delete.v1", alpha = 0.3 }, '
    "n_aug = 2 }",
    '[[arms]]\nname = "distil"\ndistill = { recipe = "hinton" }',
    '[[arms]]\nname = "span-distil"\npretrain = { scheme = "span" }\ndistill = { recipe = "hinton", alpha = 0.7 }',
]


@pytest.mark.slow
def test_a_study_runs_its_arms_once_and_reports_paired_differences(tiny_model_dir, tmp_path, capsys):
    path = study_file(tmp_path, tiny_model_dir, ARMS, top=['contrasts = [["span-lr", "span"]]'])
    assert main(["study", "plan", str(path)]) == 0
    plan = capsys.readouterr().out
    assert "span-lr: 2 runs" in plan
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    study = tmp_path / "study"
    # the two span arms share one further pre-trained model; distillation's teacher is the plain run of
    # the same seed, which is the baseline's own
    assert sorted(os.listdir(study / "pretrain")) == ["entropy", "span"]
    assert sorted(os.listdir(study / "finetune")) == ["distil", "entropy", "none", "rd", "span", "span-distil",
                                                      "span-lr"]  # fmt: skip
    distilled = json.loads((study / "finetune" / "distil" / "seed-1" / "manifest.json").read_text())
    assert distilled["settings"]["teacher"] == "finetune/none/seed-1"
    distilled = json.loads((study / "finetune" / "span-distil" / "seed-2" / "manifest.json").read_text())
    assert distilled["settings"]["teacher"] == "finetune/span/seed-2"  # the same arm without distillation
    sample = json.loads((study / "data" / "seed-1" / "results.json").read_text())
    assert sample["rows"] == 8 and sample["per_class"] == {"neg": 4, "pos": 4}
    augmented = json.loads((study / "augment" / "rd" / "seed-1" / "results.json").read_text())
    assert augmented["rows_in"] == 8 and 8 < augmented["rows_out"] <= 24
    report = (study / "report.md").read_text()
    for arm in ("none", "span", "span-lr", "entropy", "rd", "distil", "span-distil"):
        assert f"| {arm} | 2 (1 x 2) |" in report
    assert "SpanBERT" in report and "| span-lr vs span |" in report and "| rd vs none |" in report
    assert "the treatment is not replicated" in report and "No comparison was pre-registered" in report
    assert (study / "report-comparisons.csv").read_text().startswith("arm,against,role,accuracy_mean")
    assert (study / "report.csv").read_text().startswith("arm,runs,seeds,pretrain_runs,pending")
    assert (study / "report.png").stat().st_size > 1000 and (study / "report-forest.png").stat().st_size > 1000
    assert "| none | 2 (1 x 2) |" in out
    # a second run finds everything done; a report alone reads the folder
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    assert "running" not in capsys.readouterr().out
    assert main(["study", "report", str(study)]) == 0


@pytest.mark.slow
def test_a_study_under_torchrun_runs_each_stage_once_as_one_data_parallel_job(tiny_model_dir, tmp_path):
    from tests.conftest import torchrun

    epoch = "finetune = { max_steps = -1, epochs = 1 }"  # 8 rows at 4 a process: 2 steps alone, 1 over two
    arms = [f'[[arms]]\nname = "none"\n{epoch}',
            f'[[arms]]\nname = "token"\npretrain = {{ scheme = "token" }}\n{epoch}']  # fmt: skip
    path = study_file(tmp_path, tiny_model_dir, arms)
    out = torchrun(2, ["-m", "maskkit.cli.main", "study", "run", str(path), "--no-progress"])
    ran = [line.split("]")[0].lstrip("[") for line in out.splitlines() if line.endswith("] running")]
    assert sorted(ran) == ["data/in-domain", "data/seed-1", "data/seed-2", "finetune/none/seed-1",
                           "finetune/none/seed-2", "finetune/token/seed-1", "finetune/token/seed-2",
                           "pretrain/token"]  # fmt: skip
    study = tmp_path / "study"
    for run in ("none/seed-1", "token/seed-2"):
        assert json.loads((study / "finetune" / run / "results.json").read_text())["steps"] == 1
    assert out.count("| token | 2 (1 x 2) |") == 1  # one report, from the main process


@pytest.mark.slow
def test_two_processes_share_a_study_and_run_each_stage_once(tiny_model_dir, tmp_path):
    path = study_file(tmp_path, tiny_model_dir, ARMS[:2], few_shot=0, seeds=(1, 2))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "maskkit.cli.main", "study", "run", str(path), "--no-progress"]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                cwd=tmp_path) for _ in range(2)]  # fmt: skip
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs[0][-3000:] + outputs[1][-3000:]
    ran = [line.split("]")[0].lstrip("[") for out in outputs for line in out.splitlines() if line.endswith("] running")]
    assert len(ran) == len(set(ran)), f"a stage ran twice: {sorted(ran)}"
    assert ran, "no stage ran"
    report = (tmp_path / "study" / "report.md").read_text()
    assert "| span | 2 (1 x 2) |" in report


@pytest.mark.slow
def test_a_new_checkout_resumes_a_study_from_its_committed_record(tiny_model_dir, tmp_path, capsys):
    import shutil

    record = tmp_path / "record"
    path = study_file(tmp_path, tiny_model_dir, ARMS[:2])
    path.write_text(f'record = "{record}"\n' + path.read_text())
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    capsys.readouterr()
    report = (tmp_path / "study" / "report.md").read_text()
    assert not list(record.rglob("model*")), "the record keeps figures, not models"
    shutil.rmtree(tmp_path / "study")  # a new checkout: the run folder is gone, the record is committed
    assert main(["study", "plan", str(path)]) == 0
    assert "8 stages in all, 8 done" in capsys.readouterr().out
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    assert "] running" not in capsys.readouterr().out
    assert (tmp_path / "study" / "report.md").read_text() == report
    # a new arm that fine-tunes from the span arm's model: that model is made again, the old runs are not
    path.write_text(path.read_text() + ARMS[2] + "\n")
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    ran = sorted(line.split("]")[0].lstrip("[") for line in capsys.readouterr().out.splitlines() if "] running" in line)
    assert ran == [
        "data/in-domain",
        "data/seed-1",
        "data/seed-2",
        "finetune/span-lr/seed-1",
        "finetune/span-lr/seed-2",
        "pretrain/span",
    ]  # the samples, the in-domain lines and the model are files the new runs read; the rest stays
    assert "| span | 2 (1 x 2) |" in (tmp_path / "study" / "report.md").read_text()


@pytest.mark.slow
def test_a_replicated_study_crosses_pre_training_runs_with_seeds_and_decides_its_primary_family(
    tiny_model_dir, tmp_path, capsys
):
    """2 pre-training seeds x 2 fine-tuning seeds, 3 arms: each recipe runs once per pre-training seed, each
    of those models is fine-tuned with every seed (from that model, and the control from the control's),
    the in-domain lines are a seeded sample over the whole file, and the report decides the primary
    comparisons only."""
    arms = [ARMS[0], '[[arms]]\nname = "token"\npretrain = { scheme = "token" }',
            '[[arms]]\nname = "span"\npretrain = { scheme = "span" }']  # fmt: skip
    top = ["pretrain_seeds = [7, 8]", 'primary = [["span", "token"]]', "margin = 1.0", "in_domain_limit = 5"]
    path = study_file(tmp_path, tiny_model_dir, arms, top=top)
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    study = tmp_path / "study"
    assert sorted(os.listdir(study / "pretrain")) == ["span@pt-7", "span@pt-8", "token@pt-7", "token@pt-8"]
    for arm in ("span", "token"):
        for pretrain_seed in (7, 8):
            model = study / "pretrain" / f"{arm}@pt-{pretrain_seed}"
            assert json.loads((model / "manifest.json").read_text())["settings"]["seed"] == pretrain_seed
            for seed in (1, 2):
                run = json.loads((study / "finetune" / arm / f"pt-{pretrain_seed}" / f"seed-{seed}" / "manifest.json")
                                 .read_text())  # fmt: skip
                assert (
                    run["settings"]["start"] == f"pretrain/{arm}@pt-{pretrain_seed}" and run["settings"]["seed"] == seed
                )
    assert sorted(os.listdir(study / "finetune" / "none")) == ["seed-1", "seed-2"]  # no treatment: not replicated
    lines = (study / "data" / "in-domain" / "lines.txt").read_text().splitlines()
    domain = (tmp_path / "domain.txt").read_text().splitlines()
    assert len(lines) == 5 and lines != domain[:5] and set(lines) <= set(domain)
    report = (study / "report.md").read_text()
    assert "| span | 4 (2 x 2) |" in report and "the treatment is replicated" in report
    assert "crossed random effects: 2 pre-training runs x 2 seeds" in report
    primary = report.split("Primary comparisons (pre-registered):")[1].split("Exploratory")[0]
    assert "| span vs token |" in primary and "| token vs none |" not in primary
    assert "- span vs token: " in report and any(v in report for v in ("better", "worse", "equivalent", "inconclusive"))
    assert (study / "preregistration.json").is_file()
    run = study / "finetune" / "span" / "pt-7" / "seed-1"  # per-example test results: the bootstrap's input
    predictions = pq.read_table(run / "model" / "predictions.parquet").to_pydict()
    correct = read_correct_bits(json.loads((run / "results.json").read_text())["test_correct"])
    assert list(correct) == [p == y for p, y in zip(predictions["predicted"], predictions["label"])]
    rows = list(csv.DictReader(open(study / "report-comparisons.csv", encoding="utf-8")))
    bounds = [(float(r["accuracy_bootstrap_low"]), float(r["accuracy_bootstrap_high"])) for r in rows]
    assert len(bounds) == 3 and all(low <= high for low, high in bounds) and "bootstrap 95% CI" in report
    assert main(["study", "plan", str(path), "--pilot", "--target-mde", "50"]) == 0
    pilot = capsys.readouterr().out
    assert "pilot: target MDE 50 points" in pilot and "- span vs token: variance between runs" in pilot
    assert "pre-training runs x" in pilot and "hours" in pilot
    # the family is fixed once runs exist: a changed primary list is another study
    path.write_text(path.read_text().replace('primary = [["span", "token"]]', 'primary = [["span", "none"]]'))
    assert main(["study", "run", str(path), "--no-progress"]) == 2
    assert "registered" in capsys.readouterr().err


def test_holm_adjusts_p_values_by_their_rank_and_keeps_their_order():
    from maskkit.study.report import holm

    # by hand: sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04, then never below the one before
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002]) and holm([0.6, 0.7]) == [1.0, 1.0]
    assert holm([0.2]) == [0.2] and holm([]) == []


def arm_result(name, accuracies):
    """An ArmResult from {(pre-training seed or None, seed): accuracy in %}."""
    from maskkit.study.report import ArmResult

    runs = {key: {"accuracy": a / 100, "macro_f1": a / 100} for key, a in accuracies.items()}
    return ArmResult(name, runs, runs, 0.0, 0, 0)


def study_settings(primary=(), margin=None, contrasts=()):
    from types import SimpleNamespace

    return SimpleNamespace(primary=primary, margin=margin, contrasts=contrasts, baseline="none")


def test_holm_runs_over_the_primary_family_only_and_exploratory_comparisons_get_no_verdict():
    from maskkit.study.report import comparisons, holm, paired

    none = arm_result("none", {(None, 1): 70, (None, 2): 72, (None, 3): 71, (None, 4): 70})
    sel = arm_result("sel", {(1, 1): 73, (1, 2): 74, (1, 3): 75, (1, 4): 73.5})
    rand = arm_result("rand", {(1, 1): 71, (1, 2): 72, (1, 3): 72, (1, 4): 71})
    config = study_settings(primary=(("sel", "rand"), ("sel", "none")), margin=1.0, contrasts=(("rand", "sel"),))
    found = comparisons([none, sel, rand], config)
    assert [(c.arm, c.against, c.primary) for c in found] == [
        ("sel", "rand", True),
        ("sel", "none", True),
        ("rand", "none", False),
    ]  # the contrast is primary already
    raw = [paired([73, 74, 75, 73.5], [71, 72, 72, 71])["p"], paired([73, 74, 75, 73.5], [70, 72, 71, 70])["p"]]
    assert [c.p_holm for c in found[:2]] == pytest.approx(holm(raw))
    assert found[0].verdict == "better" and found[1].verdict == "better"
    assert found[2].verdict is None and found[2].p_holm is None
    # an exploratory arm added later changes nothing about the primary family
    extra = arm_result("extra", {(None, 1): 60, (None, 2): 90, (None, 3): 71, (None, 4): 72})
    again = comparisons([none, sel, rand, extra], config)
    assert [c.p_holm for c in again[:2]] == [c.p_holm for c in found[:2]]


def test_arms_pair_on_the_same_pre_training_run_or_the_plain_arm_only():
    from maskkit.study.arms import differences

    none = arm_result("none", {(None, 1): 70, (None, 2): 72})
    a = arm_result("a", {(1, 1): 71, (2, 1): 73, (1, 2): 74, (2, 2): 70})
    b = arm_result("b", {(1, 1): 70, (2, 1): 70, (1, 2): 71, (2, 2): 71})
    other_seeds = arm_result("c", {(5, 1): 70, (6, 1): 70, (5, 2): 71, (6, 2): 71})
    assert differences(a, none, "accuracy") == pytest.approx({(1, 1): 1, (2, 1): 3, (1, 2): 2, (2, 2): -2})
    assert differences(none, a, "accuracy") == pytest.approx({(1, 1): -1, (2, 1): -3, (1, 2): -2, (2, 2): 2})
    assert differences(a, b, "accuracy") == pytest.approx({(1, 1): 1, (2, 1): 3, (1, 2): 3, (2, 2): -1})
    assert differences(a, other_seeds, "accuracy") == {}  # no run in common: never paired across runs


def test_a_pilots_variance_components_give_the_cheapest_design_that_reaches_the_target():
    from maskkit.runs.statistics import minimum_detectable_effect, projected_mde, projected_se, smallest_design

    components = {"between": 0.6, "seeds_variance": 1.2, "within": 0.8}
    assert projected_mde(**components, runs=1, seeds=5) == pytest.approx(
        minimum_detectable_effect(projected_se(**components, runs=1, seeds=5), 4)
    )
    runs, seeds, mde = smallest_design(**components, target=1.5, run_cost=3.0, seed_cost=0.25)
    assert mde <= 1.5 and mde == pytest.approx(projected_mde(**components, runs=runs, seeds=seeds))
    cost = runs * 3.0 + runs * seeds * 0.25
    for r in range(2, 11):  # by brute force: nothing cheaper reaches the target
        for n in range(2, 31):
            if projected_mde(**components, runs=r, seeds=n) <= 1.5:
                assert r * 3.0 + r * n * 0.25 >= cost - 1e-9
    assert smallest_design(**components, target=0.01, run_cost=1, seed_cost=1) is None


def test_tost_and_the_verdicts_against_hand_computed_values():
    from scipy import stats

    from maskkit.runs.statistics import Difference, tost, verdict

    # mean 0.2, se 0.3, 4 df, margin 1: t1 = (0.2 + 1) / 0.3 = 4, t2 = (0.2 - 1) / 0.3 = -2.667
    result = Difference(0.2, -0.63, 1.03, 0.53, 0.3, 4, 5, 5, "paired t")
    expected = max(stats.t.sf(4.0, 4), stats.t.cdf(-0.8 / 0.3, 4))
    assert tost(result, 1.0) == pytest.approx(expected) and expected == pytest.approx(stats.t.cdf(-2.6667, 4), 1e-3)
    assert verdict(result, p_holm=0.53, p_equivalence=expected) == "equivalent"  # p 0.028 < 0.05
    assert verdict(result, p_holm=0.53, p_equivalence=0.2) == "inconclusive"
    assert verdict(result, p_holm=0.01, p_equivalence=None) == "better"
    worse = Difference(-2.0, -3.0, -1.0, 0.001, 0.3, 4, 5, 5, "paired t")
    assert verdict(worse, p_holm=0.004, p_equivalence=0.9) == "worse"
    assert tost(worse, 1.0) > 0.5  # far outside the margin
    flat = Difference(0.2, 0.2, 0.2, 0.5, 0.0, 1, 2, 2, "paired t")  # no spread: 2 units support p 1/4 at best
    assert tost(flat, 1.0) == 0.25 and tost(Difference(1.5, 1.5, 1.5, 0.5, 0.0, 1, 2, 2, "paired t"), 1.0) == 1.0


def test_the_hierarchical_bootstrap_resamples_examples_runs_and_seeds():
    import numpy as np

    from maskkit.runs.statistics import hierarchical_bootstrap

    n = 2000
    half = np.arange(n) % 2 == 0
    # one level at a time. Test examples: the arm right on all, the partner on half: 50 points, and the
    # examples' sampling error alone, sd 100 * sqrt(0.25 / n) = 1.12 points (a 95% interval of +-2.19)
    low, high = hierarchical_bootstrap({(None, s): (np.ones(n, bool), half) for s in (1, 2, 3)}, seed=1)
    assert abs((low + high) / 2 - 50) < 0.5 and abs((high - low) / 2 - 1.96 * 100 * np.sqrt(0.25 / n)) < 0.5
    # pre-training runs: run 1 is 10 points better on every seed, run 2 10 points worse; two runs drawn
    # with replacement give +10, 0 or -10 (probabilities 1/4, 1/2, 1/4): the interval is [-10, +10]
    tenth = np.arange(n) % 10 == 0
    cells = {(1, s): (tenth, np.zeros(n, bool)) for s in (1, 2)} | {(2, s): (np.zeros(n, bool), tenth) for s in (1, 2)}
    low, high = hierarchical_bootstrap(cells, seed=2)
    assert low == pytest.approx(-10, abs=1.5) and high == pytest.approx(10, abs=1.5)
    # identical arms: no difference in any replicate; fewer than 2 seeds: no interval
    assert hierarchical_bootstrap({(None, s): (half, half) for s in (1, 2)}) == (0.0, 0.0)
    assert hierarchical_bootstrap({(None, 1): (half, half)}) is None


def test_minimum_detectable_effect_is_the_power_formula():
    from scipy import stats

    from maskkit.runs.statistics import minimum_detectable_effect, projected_se

    # 5 paired seeds, sd of differences 1 (se 1 / sqrt(5)): power 0.8 exactly at the returned effect
    mde = minimum_detectable_effect(1 / math.sqrt(5), 4)
    critical, ncp = stats.t.ppf(0.975, 4), mde * math.sqrt(5)
    assert stats.nct.sf(critical, 4, ncp) + stats.nct.cdf(-critical, 4, ncp) == pytest.approx(0.8)
    assert mde == pytest.approx(1.68, abs=0.005)  # 1.68 x sd; near the normal shortcut (t + t) x se = 1.66
    assert mde == pytest.approx((stats.t.ppf(0.975, 4) + stats.t.ppf(0.8, 4)) / math.sqrt(5), rel=0.03)
    assert minimum_detectable_effect(1 / math.sqrt(5), 4, level=0.05 / 22) == pytest.approx(3.87, abs=0.005)
    from statsmodels.stats.power import TTestPower

    assert mde == pytest.approx(TTestPower().solve_power(nobs=5, alpha=0.05, power=0.8), rel=1e-4)  # sd 1
    projected = projected_se(between=0.5, seeds_variance=1.0, within=2.0, runs=4, seeds=5)
    assert projected == pytest.approx(math.sqrt(0.5 / 4 + 1.0 / 5 + 2.0 / 20))


def test_a_replicated_treatment_gets_the_crossed_interval_and_matches_the_mixed_model():
    """Three pre-training runs crossed with four fine-tuning seeds: the seed effect is shared by every run
    of a seed (the baseline's noise among it), so the interval must carry it. Checked against the two-way
    random-effects formulas by hand and against statsmodels' crossed mixed model (REML)."""
    import warnings

    import pandas as pd
    import statsmodels.formula.api as smf
    from scipy import stats

    from maskkit.runs.statistics import replicated_difference

    run_part = {(1, 1): 1.0, (1, 2): 1.6, (1, 3): 0.7, (1, 4): 1.3, (2, 1): -0.2, (2, 2): 0.4, (2, 3): 0.1,
                (2, 4): -0.5, (3, 1): 2.1, (3, 2): 1.5, (3, 3): 2.6, (3, 4): 1.9}  # fmt: skip
    seed_part = {1: 0.5, 2: -0.8, 3: 0.9, 4: -0.3}
    d = {key: value + seed_part[key[1]] for key, value in run_part.items()}
    R, S = 3, 4
    grand = sum(d.values()) / (R * S)
    run_mean = {p: sum(d[(p, s)] for s in range(1, 5)) / S for p in (1, 2, 3)}
    seed_mean = {s: sum(d[(p, s)] for p in (1, 2, 3)) / R for s in range(1, 5)}
    ms_run = S * sum((m - grand) ** 2 for m in run_mean.values()) / (R - 1)
    ms_seed = R * sum((m - grand) ** 2 for m in seed_mean.values()) / (S - 1)
    ms_res = sum((d[(p, s)] - run_mean[p] - seed_mean[s] + grand) ** 2 for p, s in d) / ((R - 1) * (S - 1))
    se = math.sqrt((ms_run + ms_seed - ms_res) / (R * S))
    df = (ms_run + ms_seed - ms_res) ** 2 / (ms_run**2 / 2 + ms_seed**2 / 3 + ms_res**2 / 6)
    result = replicated_difference(d)
    assert result.mean == pytest.approx(grand) and result.se == pytest.approx(se) and result.df == pytest.approx(df)
    assert result.high - result.mean == pytest.approx(stats.t.ppf(0.975, df) * se)
    assert result.units == 3 and result.seeds == 4 and "crossed random effects" in result.method
    frame = pd.DataFrame([{"d": v, "run": p, "seed": s, "all": 1} for (p, s), v in d.items()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.mixedlm("d ~ 1", frame, groups="all", re_formula="0",
                          vc_formula={"run": "0 + C(run)", "seed": "0 + C(seed)"}).fit(reml=True)  # fmt: skip
    assert fit.params["Intercept"] == pytest.approx(grand)
    assert fit.bse["Intercept"] == pytest.approx(se, rel=1e-3)
    assert [result.between, result.seeds_variance] == pytest.approx(list(fit.vcomp), rel=1e-3)
    assert result.within == pytest.approx(fit.scale, rel=1e-3)
    # the runs' means alone would miss the seed variance every run shares: a narrower, wrong interval
    assert se > math.sqrt(ms_run / (R * S))
    single = replicated_difference({(1, s): v for (p, s), v in d.items() if p == 1})
    assert "treatment not replicated" in single.method and single.df == 3
    assert single.mean == pytest.approx(run_mean[1])


def test_a_contrast_must_name_two_different_arms_of_the_study(tiny_model_dir, tmp_path, capsys):
    for contrasts in ('[["none", "nothing"]]', '[["none", "none"]]', '[["none"]]', '"none"'):
        path = study_file(tmp_path, tiny_model_dir, [ARMS[0]], top=[f"contrasts = {contrasts}"])
        assert main(["study", "plan", str(path)]) == 2
        assert "contrast" in capsys.readouterr().err


def test_paired_difference_matches_the_t_formula():
    from scipy import stats

    from maskkit.study.report import paired

    values, base = [80.0, 82.0, 81.0, 85.0], [79.0, 80.0, 81.5, 83.0]
    d = [a - b for a, b in zip(values, base)]
    mean = sum(d) / 4
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / 3)
    t = mean / (sd / 2)
    result = paired(values, base)
    assert result["mean"] == pytest.approx(mean)
    assert result["high"] - result["mean"] == pytest.approx(stats.t.ppf(0.975, 3) * sd / 2)
    assert result["p"] == pytest.approx(2 * stats.t.sf(abs(t), 3))
    assert paired([1.0], [0.0]) is None
    assert paired([1.0, 2.0], [0.0, 1.0])["p"] == 0.5  # identical differences: the sign-flip test's least p
    assert paired([1.0, 2.0], [1.0, 2.0])["p"] == 1.0


def test_differences_equal_up_to_rounding_are_not_significant():
    """Two seeds whose differences agree to the last bit but one (the committed SST-2 curve@250 case): the
    t-test on rounding noise gives p near 1e-14; the report must not read that as an effect."""
    from scipy import stats

    from maskkit.study.report import paired

    values = [100 * 0.8486238532110092, 100 * 0.8394495412844036]
    base = [100 * 0.8600917431192661, 100 * 0.8509174311926605]
    d = [a - b for a, b in zip(values, base)]
    assert d[0] != d[1] and abs(d[0] - d[1]) < 1e-12  # not equal as floats: the old `sd == 0` test missed it
    assert stats.ttest_rel(values, base).pvalue < 1e-6  # what the old report printed
    result = paired(values, base)
    assert result["p"] == 0.5 and result["low"] == result["high"] == pytest.approx(d[0])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (['[[arms]]\nname = "none"', '[[arms]]\nname = "none"'], "is the same folder as 'none'"),
        (['[[arms]]\nname = "other"'], "baseline arm 'none' is not among the arms"),
        (['[[arms]]\nname = "none"\npretrain = { scheme = "span", selective = "official" }'], "one of"),
        (['[[arms]]\nname = "none"\naugment = { method = "typos" }'], "augment method must be one of"),
        (['[[arms]]\nname = "none"\nmodel = "x"'], "unknown key 'model'"),
        (
            ['[[arms]]\nname = "none"', '[[arms]]\nname = "b"\nbest_of = { pretrain = ["span"] }'],
            "'span' is not an arm defined above this one",
        ),
        (
            ['[[arms]]\nname = "none"', '[[arms]]\nname = "b"\nbest_of = { pretrain = ["none"] }'],
            "arm 'none' has no pretrain to take",
        ),
        (
            [
                ARMS[0],
                ARMS[1],
                '[[arms]]\nname = "b"\npretrain = { scheme = "token" }\nbest_of = { pretrain = ["span"] }',
            ],
            "pretrain is both given and chosen",
        ),
        (['[[arms]]\nname = "none"', '[[arms]]\nname = "b"\nbest_of = { finetune = ["none"] }'], "unknown part"),
        (
            ['[[arms]]\nname = "none"\naugment = { method = "bt", pivot = "de", models = ["/no/such", "/no/such"] }'],
            "model folder '/no/such' does not exist",
        ),
        (['[[arms]]\nname = "none"\naugment = { method = "bt", models = ["a", "b"] }'], "give pivot"),
        (
            [ARMS[0], '[[arms]]\nname = "c"\npretrain = { scheme = "span", checkpoints = [2] }'],
            "between 0 and its 2 steps",
        ),
        (
            [ARMS[0], '[[arms]]\nname = "c"\npretrain = { selective = "official", checkpoints = [1] }'],
            "not offered for selective",
        ),
        (['[[arms]]\nname = "none"\naugment = { method = "eda", pivot = "de", models = ["a", "b"] }'], "give method"),
        # arm names are one safe folder name each, unique also where case is ignored; '@' names a curve point
        ([ARMS[0], '[[arms]]\nname = "../../../x"'], "must be one folder name"),
        ([ARMS[0], '[[arms]]\nname = "x/."'], "must be one folder name"),
        ([ARMS[0], '[[arms]]\nname = "w@2"'], "must be one folder name"),
        ([ARMS[0], '[[arms]]\nname = "x"', '[[arms]]\nname = "X"'], "'X' is the same folder as 'x'"),
        ([ARMS[0], "[[arms]]\nname = 3"], "arm name must be a text"),
        # every value of the kind its key takes (a boolean is never a number)
        ([ARMS[0], '[[arms]]\nname = "a"\npretrain = "token"'], "arm 'a': pretrain must be a table"),
        ([ARMS[0], '[[arms]]\nname = "a"\nfinetune = 3'], "arm 'a': finetune must be a table"),
        ([ARMS[0], '[[arms]]\nname = "a"\naugment = { n_aug = 0 }'], "n_aug must be a whole number from 1"),
        ([ARMS[0], '[[arms]]\nname = "a"\naugment = { n_aug = 100000000 }'], "n_aug must be a whole number"),
        # misspelt keys in every table, named with the nearest valid key
        (
            [ARMS[0], '[[arms]]\nname = "a"\npretrian = { scheme = "span" }'],
            "unknown key 'pretrian' (did you mean 'pretrain'?)",
        ),
        (
            [ARMS[0], '[[arms]]\nname = "a"\nfinetune = { epoch = 3 }'],
            "finetune: unknown key 'epoch' (did you mean 'epochs'?)",
        ),
        (
            [ARMS[0], '[[arms]]\nname = "a"\ndistill = { alpah = 0.5 }'],
            "distill: unknown key 'alpah' (did you mean 'alpha'?)",
        ),
        (
            [ARMS[0], '[[arms]]\nname = "a"\naugment = { metod = "eda" }'],
            "augment: unknown key 'metod' (did you mean 'method'?)",
        ),
        (
            [ARMS[0], '[[arms]]\nname = "a"\npretrain = { scheme = "span", rat = 0.2 }'],
            "pretrain: unknown key 'rat' (did you mean 'rate'?)",
        ),
        ([ARMS[0], '[[arms]]\nname = "a"\nfinetune = { lr = -1.0 }'], "lr must be a finite number > 0"),
    ],
)
def test_bad_study_files_are_named(tiny_model_dir, tmp_path, capsys, extra, message):
    path = study_file(tmp_path, tiny_model_dir, extra)
    assert main(["study", "plan", str(path)]) == 2
    assert message.replace("\\", "") in capsys.readouterr().err.replace("\\", "") or pytest.fail(
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("where", "line", "message"),
    [
        ("top", 'seeds = "12"', "seeds must be a list"),
        ("top", "seeds = [1.5, 2.7]", "seeds[0] must be a whole number"),
        ("top", "seeds = [true, false]", "seeds[0] must be a whole number"),
        ("top", "seeds = [-1, 2]", "seeds[0] must be a whole number from 0 to 4294967295"),
        ("top", "seeds = [1, 1]", "seeds must differ"),
        ("top", 'few_shot = "500"', "few_shot must be a whole number"),
        ("top", "few_shot = true", "few_shot must be a whole number"),
        ("top", "in_domain_limit = 2.5", "in_domain_limit must be a whole number"),
        ("top", 'arms = "none"', "arms must be a list"),
        ("finetune", "lrr = 1e-4", "[finetune]: unknown key 'lrr' (did you mean 'lr'?)"),
        ("finetune", "weight_decay = inf", "weight_decay must be a finite number"),
        ("pretrain", "stepz = 3", "[pretrain]: unknown key 'stepz' (did you mean 'steps'?)"),
    ],
)
def test_study_values_of_the_wrong_kind_or_misspelt_are_refused_at_plan(tiny_model_dir, tmp_path, capsys, where,
                                                                          line, message):  # fmt: skip
    arms = [] if line.startswith("arms") else [ARMS[0]]
    path = study_file(tmp_path, tiny_model_dir, arms, **{where: (line,)})
    key, lines = line.split(" = ")[0], path.read_text().splitlines()
    first = next(i for i, text in enumerate(lines) if text.startswith(f"{key} = "))
    if lines[first] != line:  # the default study file's own value of this key goes
        del lines[first]
    path.write_text("\n".join(lines) + "\n")
    assert main(["study", "plan", str(path)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_selective_arms_share_one_pipeline_with_its_matched_control(tiny_model_dir, tmp_path):
    small = 'selective = "official", pack_length = 48, classifier_epochs = 1, task_epochs = 1'
    arms = ['[[arms]]\nname = "none"', f'[[arms]]\nname = "selective"\npretrain = {{ {small} }}',
            f'[[arms]]\nname = "random"\npretrain = {{ {small}, control = true }}']  # fmt: skip
    path = study_file(tmp_path, tiny_model_dir, arms, seeds=(1, 2))
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    study = tmp_path / "study"
    assert os.listdir(study / "pretrain") == ["selective"]  # one pipeline for both arms
    pipeline = study / "pretrain" / "selective" / "pipeline"
    assert (pipeline / "pretrain_selective" / "model").is_dir() and (pipeline / "pretrain_random" / "model").is_dir()
    chosen = json.loads((study / "finetune" / "random" / "seed-1" / "manifest.json").read_text())["settings"]
    assert chosen["control"] is True and chosen["start"] == "pretrain/selective"
    for arm, model in (("random", "pretrain_random"), ("selective", "pretrain_selective")):  # what each run loaded
        loaded = json.loads((study / "finetune" / arm / "seed-2" / "results.json").read_text())["loaded"]
        assert loaded == f"pretrain/selective/pipeline/{model}/model"
    report = (study / "report.md").read_text()
    assert "| selective | 2 (1 x 2) |" in report and "| random | 2 (1 x 2) |" in report


@pytest.mark.slow
def test_a_best_of_arm_takes_each_part_from_the_best_listed_arm_on_dev(tiny_model_dir, tmp_path, capsys):
    rd = '{{ augmenter = {{ "@component" = "maskkit.random_delete.v1", alpha = {} }}, n_aug = 1 }}'
    arms = [ARMS[0], ARMS[1], '[[arms]]\nname = "word"\npretrain = { scheme = "word" }',
            f'[[arms]]\nname = "rd"\naugment = {rd.format(0.3)}',
            f'[[arms]]\nname = "rd-light"\naugment = {rd.format(0.1)}',
            '[[arms]]\nname = "best"\nbest_of = { pretrain = ["span", "word"], augment = ["rd", "rd-light"] }',
            ]  # fmt: skip
    path = study_file(tmp_path, tiny_model_dir, arms)
    assert main(["study", "plan", str(path)]) == 0
    assert "best: chosen on dev once these have run: rd, rd-light, span, word" in capsys.readouterr().out
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    assert "best: pretrain of " in capsys.readouterr().out  # the choice is said when it is made
    study = tmp_path / "study"

    def dev(arm):  # mean dev macro-F1 over the arm's seeds, read from its runs' results
        runs = [json.loads((study / "finetune" / arm / f"seed-{s}" / "results.json").read_text()) for s in (1, 2)]
        return sum(r["dev"]["macro_f1"] for r in runs) / 2

    pretrain = max(["span", "word"], key=lambda a: (dev(a), a == "span"))
    augment = max(["rd", "rd-light"], key=lambda a: (dev(a), a == "rd"))
    settings = json.loads((study / "finetune" / "best" / "seed-2" / "manifest.json").read_text())["settings"]
    assert settings["start"] == f"pretrain/{pretrain}" and settings["data"] == f"augment/{augment}/seed-2"
    assert sorted(os.listdir(study / "pretrain")) == ["span", "word"]  # the chosen model is reused, not remade
    report = (study / "report.md").read_text()
    assert (
        "| best | 2 (1 x 2) | " in report and f"chosen on dev: pretrain of {pretrain} + augment of {augment}" in report
    )
    # a later command finds the choice made and nothing to run
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    assert "] running" not in capsys.readouterr().out


@pytest.mark.slow
def test_back_translation_arms_take_local_seq2seq_folders(tiny_model_dir, tmp_path):
    from tests.test_neural_translate import tiny_marian_folder

    marian = tiny_marian_folder(tmp_path / "marian")
    arms = [
        ARMS[0],
        f'[[arms]]\nname = "bt"\naugment = {{ method = "bt", pivot = "de", models = ["{marian}", "{marian}"] }}',
    ]
    path = study_file(tmp_path, tiny_model_dir, arms)
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    study = tmp_path / "study"
    spec = json.loads((study / "augment" / "bt" / "seed-1" / "manifest.json").read_text())["settings"]["augmenter"]
    assert spec["translator"]["@component"] == "maskkit.seq2seq.v1" and spec["pivot"] == "de"
    augmented = json.loads((study / "augment" / "bt" / "seed-1" / "results.json").read_text())
    assert augmented["rows_in"] == 8 and augmented["rows_out"] > 8  # paraphrases were added
    assert "| bt | 2 (1 x 2) |" in (study / "report.md").read_text()


@pytest.mark.slow
def test_a_when_to_stop_curve_fine_tunes_from_snapshots_of_one_pre_training_run(tiny_model_dir, tmp_path):
    arms = [ARMS[0], '[[arms]]\nname = "curve"\npretrain = { scheme = "span", checkpoints = [1] }']
    path = study_file(tmp_path, tiny_model_dir, arms)
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    study = tmp_path / "study"
    assert os.listdir(study / "pretrain") == ["curve"]  # one run for the curve
    run = study / "pretrain" / "curve"
    snapshot, final = run / "model-step-1", run / "model"
    assert json.loads((run / "results.json").read_text())["checkpoints"] == {"1": str(snapshot)}
    weights = [(folder / "model.safetensors").read_bytes() for folder in (snapshot, final)]
    assert weights[0] != weights[1]  # step 1 of the 2 is not the end
    assert (snapshot / "tokenizer_config.json").is_file()
    early = json.loads((study / "finetune" / "curve@1" / "seed-2" / "manifest.json").read_text())["settings"]
    late = json.loads((study / "finetune" / "curve" / "seed-2" / "manifest.json").read_text())["settings"]
    assert early["checkpoint"] == 1 and early["start"] == late["start"] == "pretrain/curve"
    loaded = [json.loads((study / "finetune" / arm / "seed-2" / "results.json").read_text())["loaded"]
              for arm in ("curve@1", "curve")]  # fmt: skip
    assert loaded == ["pretrain/curve/model-step-1", "pretrain/curve/model"]
    assert "checkpoint" not in late
    report = (study / "report.md").read_text()
    assert "| curve@1 | 2 (1 x 2) |" in report and "| curve | 2 (1 x 2) |" in report
    assert (study / "report-curve.png").stat().st_size > 1000
    from dataclasses import replace

    from maskkit.study.config import StudyConfig

    config = StudyConfig.from_toml(str(path))
    assert [a.name for a in replace(config, run_dir="elsewhere").arms] == ["none", "curve@1", "curve"]


def test_a_best_of_arm_waits_for_every_listed_arm_and_takes_the_best_dev_score(tiny_model_dir, tmp_path):
    from maskkit.study.config import StudyConfig
    from maskkit.study.plan import Plan

    arms = [ARMS[0], ARMS[1], '[[arms]]\nname = "word"\npretrain = { scheme = "word" }',
            '[[arms]]\nname = "best"\nbest_of = { pretrain = ["span", "word"] }']  # fmt: skip
    plan = Plan(StudyConfig.from_toml(str(study_file(tmp_path, tiny_model_dir, arms))))
    best = plan.config.arm("best")
    assert plan.choose(best, {"span": 0.7, "word": None}.get) is None and plan.waiting["best"] == ["word"]
    assert "best" not in plan.arms
    stages = plan.choose(best, {"span": 0.7, "word": 0.8}.get)  # word finished later, with the better score
    assert stages is not None and plan.arms["best"].chosen == {"pretrain": "word"} and "best" not in plan.waiting
    assert stages == [] and plan.arms["best"].runs == plan.arms["word"].runs  # the same runs: nothing remade
    tie = Plan(plan.config)
    tie.choose(best, {"span": 0.8, "word": 0.8}.get)
    assert tie.arms["best"].chosen == {"pretrain": "span"}  # a tie goes to the first listed


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "studies").glob("*.toml")))
def test_every_shipped_study_file_plans_and_its_record_maps_to_the_same_stages(name, capsys):
    """The shipped study files load and plan under today's checks, and every committed record of a finished
    run is found again: the unchanged arms keep their stage digests, so no finished run is lost or redone."""
    import re

    from tests.conftest import DATA

    if not (DATA / "sst2").is_dir():
        pytest.skip(f"real data not found at {DATA} (set MASKKIT_DATA)")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert main(["study", "plan", f"studies/{name}.toml"]) == 0
    finally:
        os.chdir(cwd)
    total, done = map(int, re.search(r"(\d+) stages in all, (\d+) done", capsys.readouterr().out).groups())
    record = ROOT / "results" / name / "record"
    recorded = sum(1 for p in record.rglob("*.json") if p.name != "preregistration.json") if record.is_dir() else 0
    assert done == recorded and total >= done


@pytest.mark.slow
def test_a_budget_in_steps_gives_every_arm_the_same_steps_and_dev_evaluations(tiny_model_dir, tmp_path):
    """The augmented arm trains on about three times the rows; with max_steps and evaluations in [finetune]
    every run takes the same optimiser steps and chooses its checkpoint among the same dev evaluations."""
    path = study_file(tmp_path, tiny_model_dir, [ARMS[0], ARMS[4]], finetune=("evaluations = 2",))
    assert main(["study", "run", str(path), "--no-progress"]) == 0
    study = tmp_path / "study"
    for run in ("none/seed-1", "rd/seed-2"):
        figures = json.loads((study / "finetune" / run / "results.json").read_text())
        assert (figures["steps"], figures["evaluations"]) == (2, 2)
    assert json.loads((study / "finetune" / "rd" / "seed-2" / "results.json").read_text())["train_rows"] > 8
    report = (study / "report.md").read_text()
    assert "dev evaluations a run" in report and "| none | 2 (1 x 2) |" in report


def test_a_steps_budget_is_the_plain_arms_steps_and_epochs_for_every_arm(tiny_model_dir, tmp_path, capsys):
    from maskkit.study.config import StudyConfig

    path = study_file(tmp_path, tiny_model_dir, [ARMS[0], ARMS[4]], few_shot=10, top=('budget = "steps"',),
                      finetune=("epochs = 3",))  # fmt: skip
    path.write_text(path.read_text().replace("max_steps = 2\n", ""))
    config = StudyConfig.from_toml(str(path))  # 10 rows in batches of 4: 3 steps an epoch, 3 epochs
    assert (config.finetune["max_steps"], config.finetune["evaluations"], config.budget) == (9, 3, "steps")
    path.write_text(path.read_text().replace("few_shot = 10", "few_shot = 0"))  # all 24 rows: 6 steps an epoch
    assert StudyConfig.from_toml(str(path)).finetune["max_steps"] == 18
    path.write_text(path.read_text().replace("epochs = 3", "epochs = 2.5"))  # as Trainer: ceil(2.5 x 6) steps
    assert (StudyConfig.from_toml(str(path)).finetune["max_steps"], StudyConfig.from_toml(str(path)).finetune[
        "evaluations"]) == (15, 3)  # fmt: skip
    path.write_text(path.read_text().replace("epochs = 2.5", "epochs = 3"))
    path.write_text(path.read_text().replace("epochs = 3", "epochs = 3\nmax_steps = 5"))
    assert main(["study", "plan", str(path)]) == 2
    assert 'budget = "steps" sets [finetune] max_steps itself' in capsys.readouterr().err


def test_evaluations_need_a_budget_in_steps(tiny_model_dir, tmp_path, capsys):
    path = study_file(tmp_path, tiny_model_dir, [ARMS[0]], finetune=("evaluations = 3", "max_steps = -1"))
    path.write_text(path.read_text().replace("max_steps = 2\n", ""))
    assert main(["study", "plan", str(path)]) == 2
    assert "evaluations must be >= 0 and needs max_steps" in capsys.readouterr().err
