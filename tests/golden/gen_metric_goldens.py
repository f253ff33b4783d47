#!/usr/bin/env python3
"""gen_metric_goldens.py — expected values for eval/metrics.cpp, computed by the reference libraries.

Every classification/correlation metric comes from scikit-learn / scipy, called the way T5's
t5/evaluation/metrics.py calls them (f1_score_with_invalid, mean_multiclass_f1, matthews_corrcoef,
pearsonr, spearmanr, mean_group_metric(all_match)); the ReCoRD/SQuAD metrics follow the official
SQuAD v1.1 normaliser as written in T5's qa_utils.py (Python's own str.lower, re \\b, str.split).
Inputs are seeded random cases plus edge cases (ties, constant predictions, one class only,
invalid -1 predictions, Unicode text). Writes tests/golden/metrics/metrics.json.

    python3 tests/golden/gen_metric_goldens.py
"""
import collections
import json
import math
import os
import re
import string
import warnings

import numpy as np
import scipy
import scipy.stats
import sklearn
import sklearn.metrics

warnings.filterwarnings("ignore")  # sklearn/scipy warn on the degenerate cases we test on purpose


def f1_with_invalid(gold, pred):
    # T5 metrics.f1_score_with_invalid
    gold, pred = np.asarray(gold), np.asarray(pred).copy()
    bad = np.logical_and(pred != 0, pred != 1)
    pred[bad] = 1 - gold[bad]
    return float(sklearn.metrics.f1_score(gold, pred))


def num(x):
    x = float(x)
    return None if math.isnan(x) else x


# ---------------------------------------------------------------- SQuAD normaliser (T5 qa_utils)
def normalize_squad(text):
    def remove_articles(s):
        return re.sub(r"\b(a|an|the)\b", " ", s)

    def replace_punctuation(s):
        to_replace = set(string.punctuation)
        return "".join("" if ch in to_replace else ch for ch in s)

    def white_space_fix(s):
        return " ".join(s.split())

    text = text.lower()
    text = replace_punctuation(text)
    text = remove_articles(text)
    return white_space_fix(text)


def token_f1(target, prediction):
    p, t = prediction.split(), target.split()
    common = collections.Counter(p) & collections.Counter(t)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(t)
    return (2 * precision * recall) / (precision + recall)


def qa(golds, preds):
    golds = [[normalize_squad(t) for t in u] for u in golds]
    preds = [normalize_squad(p) for p in preds]
    em = np.mean([max(float(t == p) for t in ts) for ts, p in zip(golds, preds)])
    f1 = np.mean([max(token_f1(t, p) for t in ts) for ts, p in zip(golds, preds)])
    return float(em), float(f1)


def main():
    rng = np.random.default_rng(20240521)
    out = {"generator": "tests/golden/gen_metric_goldens.py",
           "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__}}

    # ------------------------------------------------------------ binary classification
    binary = []

    def add_binary(name, gold, pred):
        gold, pred = [int(v) for v in gold], [int(v) for v in pred]
        case = {"name": name, "gold": gold, "pred": pred,
                "accuracy": float(sklearn.metrics.accuracy_score(gold, pred)),
                "f1_with_invalid": f1_with_invalid(gold, pred),
                "matthews_corrcoef": float(sklearn.metrics.matthews_corrcoef(gold, pred))}
        if set(pred) <= {0, 1}:
            case["f1"] = float(sklearn.metrics.f1_score(gold, pred))
        binary.append(case)

    for i, n in enumerate([7, 50, 333]):
        add_binary(f"random_{n}", rng.integers(0, 2, n), rng.integers(0, 2, n))
    g = rng.integers(0, 2, 40)
    p = np.where(rng.random(40) < 0.2, -1, rng.integers(0, 2, 40))
    add_binary("invalid_predictions", g, p)
    add_binary("constant_prediction_1", rng.integers(0, 2, 30), np.ones(30, int))
    add_binary("constant_prediction_0", rng.integers(0, 2, 30), np.zeros(30, int))
    add_binary("all_gold_one_class", np.ones(25, int), rng.integers(0, 2, 25))
    add_binary("all_gold_negative_all_pred_negative", np.zeros(10, int), np.zeros(10, int))
    add_binary("perfect", [0, 1, 1, 0, 1], [0, 1, 1, 0, 1])
    add_binary("all_wrong", [0, 1, 1, 0, 1], [1, 0, 0, 1, 0])
    add_binary("single", [1], [1])
    add_binary("all_invalid", [0, 1, 1, 0], [-1, -1, -1, -1])
    out["binary"] = binary

    # ------------------------------------------------------------ multiclass (CB: 3 classes)
    multi = []

    def add_multi(name, gold, pred, k=3):
        gold, pred = [int(v) for v in gold], [int(v) for v in pred]
        multi.append({"name": name, "gold": gold, "pred": pred, "num_classes": k,
                      "accuracy": float(sklearn.metrics.accuracy_score(gold, pred)),
                      "macro_f1": float(sklearn.metrics.fbeta_score(gold, pred, beta=1, labels=range(k),
                                                                     average="macro")),
                      "matthews_corrcoef": float(sklearn.metrics.matthews_corrcoef(gold, pred))})

    add_multi("random_56", rng.integers(0, 3, 56), rng.integers(0, 3, 56))
    add_multi("random_500", rng.integers(0, 3, 500), rng.integers(0, 3, 500))
    add_multi("class_2_absent", rng.integers(0, 2, 20), rng.integers(0, 2, 20))
    add_multi("invalid_predictions", rng.integers(0, 3, 40),
              np.where(rng.random(40) < 0.25, -1, rng.integers(0, 3, 40)))
    add_multi("constant_prediction", rng.integers(0, 3, 30), np.full(30, 1))
    add_multi("perfect", [0, 1, 2, 2, 1, 0], [0, 1, 2, 2, 1, 0])
    add_multi("five_classes", rng.integers(0, 5, 80), rng.integers(0, 5, 80), k=5)
    out["multiclass"] = multi

    # ------------------------------------------------------------ regression (STS-B)
    reg = []

    def add_reg(name, x, y):
        x, y = [float(v) for v in x], [float(v) for v in y]
        reg.append({"name": name, "x": x, "y": y,
                    "pearson": num(scipy.stats.pearsonr(x, y)[0]),
                    "spearman": num(scipy.stats.spearmanr(x, y)[0]),
                    "ranks_x": [float(r) for r in scipy.stats.rankdata(x, method="average")]})

    x = rng.uniform(0, 5, 100)
    add_reg("random_100", x, x + rng.normal(0, 1.5, 100))
    grid = np.round(rng.uniform(0, 5, 200) * 5) / 5  # many ties, like STS-B targets
    add_reg("ties_grid", grid, np.round((grid + rng.normal(0, 1, 200)) * 5) / 5)
    add_reg("heavy_ties", [1, 1, 1, 2, 2, 3, 3, 3, 3, 5], [0.2, 0.2, 0.4, 0.4, 1, 1, 1, 5, 5, 5])
    add_reg("negative", [0, 1, 2, 3, 4], [4.5, 3.1, 2.2, 1.0, -1.0])
    add_reg("constant_prediction", rng.uniform(0, 5, 20), np.full(20, 2.6))
    add_reg("constant_gold", np.full(8, 3.0), rng.uniform(0, 5, 8))
    add_reg("two_points", [1.0, 2.0], [3.0, 1.0])
    add_reg("invalid_minus_one", [4.0, 3.2, 0.4, 1.8, 2.6, 5.0], [-1.0, 3.0, 0.6, -1.0, 2.4, 4.8])
    out["regression"] = reg

    # ------------------------------------------------------------ MultiRC
    mrc = []

    def add_multirc(name, gold, pred, group):
        gold, pred = [int(v) for v in gold], [int(v) for v in pred]
        grouped = collections.defaultdict(lambda: ([], []))
        for g_, p_, k in zip(gold, pred, group):
            grouped[k][0].append(g_)
            grouped[k][1].append(p_)
        em = float(np.mean([100 * float(np.array_equal(t, p)) for t, p in grouped.values()])) / 100
        mrc.append({"name": name, "gold": gold, "pred": pred, "group": group,
                    "f1a": f1_with_invalid(gold, pred), "exact_match": em})

    n = 120
    group = [f"{i // 5}-{j}" for i, j in zip(rng.integers(0, 150, n).tolist(), rng.integers(0, 2, n).tolist())]
    gold = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.7, gold, 1 - gold)
    pred = np.where(rng.random(n) < 0.05, -1, pred)
    add_multirc("random_groups", gold, pred, group)
    add_multirc("small", [1, 0, 1, 1, 0, 0], [1, 0, 0, 1, 0, 0], ["q1", "q1", "q1", "q2", "q2", "q3"])
    out["multirc"] = mrc

    # ------------------------------------------------------------ SQuAD normalisation and QA metrics
    texts = ["The Eiffel Tower", "eiffel tower.", "an apple a day", "A", "the", "Theatre of the Absurd",
             "  Multiple   spaces\tand\ttabs\n", "l'a", "U.S.A.", "$1,000,000", "co-operate",
             "Café CRÈME", "STRASSE und Straße", "ΟΔΟΣ ΣΟΦΙΑΣ", "İstanbul", "naïve_the_thing",
             "théa the éthe", "a\u00a0b\u3000c", "x²the", "\u201cQuoted\u201d — dash", "", "!!!", "an"]
    out["squad_normalize"] = [{"input": t, "output": normalize_squad(t)} for t in texts]

    qa_cases = []
    golds = [["The Eiffel Tower", "Eiffel Tower"], ["Paris"], ["Barack Obama", "Obama"],
             ["the United States of America", "USA", "U.S."], ["Café CRÈME"], ["two words here"],
             ["a b a b"], ["Σίσυφος"]]
    preds = ["eiffel tower", "paris, france", "president obama", "U.S.", "cafe creme", "here words two",
             "a b b", "σίσυφος"]
    em, f1 = qa(golds, preds)
    qa_cases.append({"name": "mixed", "golds": golds, "preds": preds, "em": em, "f1": f1})
    golds = [["The answer"], ["nothing"], ["A"]]
    preds = ["", "something else entirely", "the"]
    em, f1 = qa(golds, preds)
    qa_cases.append({"name": "empty_and_articles", "golds": golds, "preds": preds, "em": em, "f1": f1})
    out["qa"] = qa_cases
    out["token_f1"] = [{"gold": normalize_squad(g), "pred": normalize_squad(p),
                        "f1": token_f1(normalize_squad(g), normalize_squad(p))}
                       for g, p in [("new york city", "york new"), ("a b c d", "b c d e f"),
                                    ("x x x y", "x x z"), ("", "anything"), ("", "")]]

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics", "metrics.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
