"""Write the scikit-learn / scipy reference for lusnet's clinical statistics: OUT/stats/stats.json.

Seeded random cases, many with tied scores, and the values the reference libraries give:

- ``normal_quantile``: ``scipy.stats.norm.ppf`` from 1e-300 to 1 - 1e-15;
- ``incomplete_beta`` and ``student_t_sf``: ``scipy.special.betainc`` and ``scipy.stats.t.sf``;
- ``wilson``: Wilson score intervals from statsmodels' ``proportion_confint`` when statsmodels
  is installed, else from the formula in numpy (``wilson_source`` says which);
- ``auc_cases``: ``roc_auc_score``, ``roc_curve(drop_intermediate=False)``,
  ``brier_score_loss``, the confusion matrix at fixed thresholds with Wilson intervals, the
  Youden and target-sensitivity thresholds read off the ROC curve, and DeLong's variance and
  intervals;
- ``delong_pairs``: DeLong's test of two correlated AUCs (z, two-sided p, interval);
- ``spearman``: ``scipy.stats.spearmanr`` (rho, p) and the Fisher-z interval with standard
  error 1.06 / sqrt(n - 3).

DeLong is computed here with the fast algorithm of Sun & Xu (IEEE Signal Processing Letters
21(11), 2014): placement values from midranks of each class and of both pooled, and the
covariance of the placements of several scores at once. lusnet counts placements by binary
search instead, so agreement checks two different computations of the same estimator.
JSON has no infinity: ROC thresholds omit the first (+inf) point.
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

try:
    import scipy
    import sklearn
    from scipy import special, stats
    from sklearn import metrics
except ImportError as missing:
    raise SystemExit(
        f"make_stats_reference.py needs scipy and scikit-learn ({missing}); "
        "install them with: pip install scipy scikit-learn"
    ) from missing

SEED = 2026
LEVEL = 0.95
SENSITIVITY_TARGETS = [0.8, 0.9, 1.0]

# (positives, negatives) of the random AUC cases; small classes on purpose (DeLong needs 2).
CLASS_SIZES = [
    (2, 2),
    (2, 5),
    (6, 2),
    (5, 7),
    (10, 10),
    (14, 26),
    (37, 29),
    (66, 74),
    (150, 120),
    (400, 350),
]
# Score kinds: continuous, two-decimal probabilities (ties), a five-point rating (many ties).
SCORE_KINDS = ["continuous", "rounded", "rating"]


def critical_value(level: float) -> float:
    return float(stats.norm.isf((1.0 - level) / 2.0))


def wilson(count: int, total: int, level: float) -> tuple:
    try:
        from statsmodels.stats.proportion import proportion_confint
    except ImportError:
        z = critical_value(level)
        p = count / total
        denom = 1.0 + z * z / total
        centre = (p + z * z / (2.0 * total)) / denom
        half = z * np.sqrt(p * (1.0 - p) / total + z * z / (4.0 * total * total)) / denom
        return float(max(0.0, centre - half)), float(min(1.0, centre + half))
    low, high = proportion_confint(count, total, alpha=1.0 - level, method="wilson")
    return float(low), float(high)


def wilson_source() -> str:
    try:
        import statsmodels

        return f"statsmodels {statsmodels.__version__}"
    except ImportError:
        return "numpy formula"


def midranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties averaged: a value spanning ranks e - c + 1 .. e gets e - (c - 1) / 2."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse]


def fast_delong(scores: np.ndarray, labels: np.ndarray) -> tuple:
    """Sun & Xu's DeLong for k score rows [k, N]: (AUCs [k], covariance [k, k])."""
    positive, negative = scores[:, labels == 1], scores[:, labels == 0]
    m, n = positive.shape[1], negative.shape[1]
    tx = np.array([midranks(row) for row in positive])
    ty = np.array([midranks(row) for row in negative])
    tz = np.array([midranks(row) for row in np.hstack([positive, negative])])
    aucs = (tz[:, :m].sum(axis=1) - m * (m + 1) / 2.0) / (m * n)
    placements_positive = (tz[:, :m] - tx) / n
    placements_negative = 1.0 - (tz[:, m:] - ty) / m
    s_positive = np.atleast_2d(np.cov(placements_positive))
    s_negative = np.atleast_2d(np.cov(placements_negative))
    return aucs, s_positive / m + s_negative / n


def draw_scores(rng: np.random.Generator, labels: np.ndarray, kind: str, shift: float):
    latent = rng.normal(size=labels.size) + shift * labels
    probabilities = special.expit(latent)
    if kind == "rounded":
        return np.round(probabilities, 2)
    if kind == "rating":
        return np.digitize(latent, [-0.5, 0.3, 1.0, 1.8]) / 4.0
    return probabilities


def shuffled_labels(rng: np.random.Generator, positives: int, negatives: int) -> np.ndarray:
    labels = np.array([1] * positives + [0] * negatives)
    rng.shuffle(labels)
    return labels


def proportion_entry(count: int, total: int):
    if total == 0:
        return None
    low, high = wilson(count, total, LEVEL)
    return {"count": count, "total": total, "value": count / total, "lower": low, "upper": high}


def at_threshold(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    called = (scores >= threshold).astype(int)
    tn, fp, fn, tp = (
        int(v) for v in metrics.confusion_matrix(labels, called, labels=[0, 1]).ravel()
    )
    return {
        "threshold": float(threshold),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "sensitivity": proportion_entry(tp, tp + fn),
        "specificity": proportion_entry(tn, tn + fp),
        "ppv": proportion_entry(tp, tp + fp),
        "npv": proportion_entry(tn, tn + fn),
        "accuracy": proportion_entry(tp + tn, labels.size),
    }


def delong_entry(scores: np.ndarray, labels: np.ndarray):
    if min(labels.sum(), (1 - labels).sum()) < 2:
        return None
    aucs, cov = fast_delong(scores[None, :], labels)
    auc, variance = float(aucs[0]), float(cov[0, 0])
    half = critical_value(LEVEL) * np.sqrt(variance)
    entry = {
        "auc": auc,
        "variance": variance,
        "lower": max(0.0, auc - half),
        "upper": min(1.0, auc + half),
    }
    if 0.0 < auc < 1.0:
        logit_half = half / (auc * (1.0 - auc))
        centre = special.logit(auc)
        entry["logit_lower"] = float(special.expit(centre - logit_half))
        entry["logit_upper"] = float(special.expit(centre + logit_half))
    else:
        entry["logit_lower"] = entry["logit_upper"] = auc
    return entry


def thresholds_from_roc(labels: np.ndarray, fpr, tpr, thresholds) -> dict:
    """Youden (exact integer J, first maximum after the +inf point) and target sensitivities."""
    positives, negatives = int(labels.sum()), int((1 - labels).sum())
    tps = np.rint(tpr * positives).astype(np.int64)
    fps = np.rint(fpr * negatives).astype(np.int64)
    j = tps * negatives - fps * positives
    youden = 1 + int(np.argmax(j[1:]))
    targets = []
    for target in SENSITIVITY_TARGETS:
        reached = np.nonzero(tpr[1:] >= target)[0]
        targets.append({"target": target, "threshold": float(thresholds[1 + reached[0]])})
    return {"youden_threshold": float(thresholds[youden]), "sensitivity_thresholds": targets}


def auc_case(name: str, scores: np.ndarray, labels: np.ndarray) -> dict:
    fpr, tpr, thresholds = metrics.roc_curve(labels, scores, drop_intermediate=False)
    case = {
        "name": name,
        "scores": scores.tolist(),
        "labels": labels.tolist(),
        "auc": float(metrics.roc_auc_score(labels, scores)),
        "brier": float(metrics.brier_score_loss(labels, scores)),
        "roc": {"thresholds": thresholds[1:].tolist(), "fpr": fpr.tolist(), "tpr": tpr.tolist()},
        "delong": delong_entry(scores, labels),
    }
    case.update(thresholds_from_roc(labels, fpr, tpr, thresholds))
    fixed = [0.5, float(np.median(scores)), case["youden_threshold"]]
    case["at_threshold"] = [at_threshold(scores, labels, t) for t in fixed]
    return case


def auc_cases(rng: np.random.Generator) -> list:
    cases = []
    for positives, negatives in CLASS_SIZES:
        for kind in SCORE_KINDS:
            labels = shuffled_labels(rng, positives, negatives)
            shift = rng.uniform(-0.5, 2.5)
            scores = draw_scores(rng, labels, kind, shift)
            cases.append(auc_case(f"{kind} {positives}+/{negatives}-", scores, labels))
    labels = shuffled_labels(rng, 9, 11)
    cases.append(auc_case("all tied", np.full(20, 0.3), labels))
    cases.append(auc_case("perfect", np.where(labels == 1, 0.9, 0.1), labels))
    cases.append(auc_case("inverted", np.where(labels == 1, 0.2, 0.7), labels))
    return cases


def delong_pairs(rng: np.random.Generator) -> list:
    pairs = []
    for positives, negatives in CLASS_SIZES[1:]:
        for kind in ["continuous", "rounded"]:
            labels = shuffled_labels(rng, positives, negatives)
            latent = rng.normal(size=labels.size) + 1.2 * labels
            a = special.expit(latent + 0.6 * rng.normal(size=labels.size))
            b = special.expit(latent + 1.2 * rng.normal(size=labels.size))
            if kind == "rounded":
                a, b = np.round(a, 1), np.round(b, 2)
            aucs, cov = fast_delong(np.vstack([a, b]), labels)
            variance = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
            difference = float(aucs[0] - aucs[1])
            z = difference / np.sqrt(variance)
            half = critical_value(LEVEL) * np.sqrt(variance)
            pairs.append(
                {
                    "name": f"{kind} {positives}+/{negatives}-",
                    "scores_a": a.tolist(),
                    "scores_b": b.tolist(),
                    "labels": labels.tolist(),
                    "auc_a": float(aucs[0]),
                    "auc_b": float(aucs[1]),
                    "variance": variance,
                    "z": float(z),
                    "p": float(2.0 * stats.norm.sf(abs(z))),
                    "lower": max(-1.0, difference - half),
                    "upper": min(1.0, difference + half),
                }
            )
    return pairs


def spearman_case(name: str, x: np.ndarray, y: np.ndarray) -> dict:
    """scipy's rho and p, and the Fisher interval; rho None where scipy has none (constant)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        result = stats.spearmanr(x, y)
    rho, n = float(result.statistic), x.size
    case = {
        "name": name,
        "x": x.tolist(),
        "y": y.tolist(),
        "rho": None,
        "p": None,
        "lower": None,
        "upper": None,
    }
    if np.isnan(rho):
        return case
    case["rho"], case["p"] = rho, float(result.pvalue)
    if n >= 4:
        half = critical_value(LEVEL) * 1.06 / np.sqrt(n - 3)
        case["lower"] = float(np.tanh(np.arctanh(rho) - half))
        case["upper"] = float(np.tanh(np.arctanh(rho) + half))
    return case


def spearman_cases(rng: np.random.Generator) -> list:
    cases = []
    for n in [3, 4, 5, 8, 15, 30, 66, 140, 500]:
        for strength in [-0.7, 0.1, 0.9]:
            x = rng.normal(size=n)
            y = strength * x + np.sqrt(1.0 - strength**2) * rng.normal(size=n)
            # A CT-like score with ties against a continuous FVC-like value, and both tied.
            cases.append(spearman_case(f"n={n} r={strength}", x, y))
            cases.append(
                spearman_case(f"n={n} r={strength} ties", np.round(2 * x) + 3, np.round(y, 1))
            )
    return cases


def distribution_cases() -> dict:
    ps = [
        1e-300,
        1e-100,
        1e-20,
        1e-10,
        1e-5,
        1e-3,
        0.0125,
        0.02425,
        0.025,
        0.05,
        0.1,
        0.3,
        0.4999,
        0.5,
        0.6,
        0.9,
        0.95,
        0.975,
        0.97575,
        0.995,
        0.999999,
        1.0 - 1e-10,
        1.0 - 1e-15,
    ]
    betas = [
        (a, b, x)
        for a in [0.5, 1.0, 2.5, 14.0, 249.0]
        for b in [0.5, 3.0, 40.0]
        for x in [1e-6, 0.01, 0.3, 0.5, 0.77, 0.99, 1.0 - 1e-9]
    ]
    ts = [(t, df) for t in [-3.0, -0.4, 0.0, 0.7, 2.1, 6.5, 40.0] for df in [1, 2, 5, 28, 498]]
    return {
        "normal_quantile": [{"p": p, "x": float(stats.norm.ppf(p))} for p in ps],
        "incomplete_beta": [
            {"a": a, "b": b, "x": x, "value": float(special.betainc(a, b, x))} for a, b, x in betas
        ],
        "student_t_sf": [{"t": t, "df": df, "value": float(stats.t.sf(t, df))} for t, df in ts],
    }


def wilson_cases() -> list:
    cases = []
    for total in [1, 2, 7, 20, 66, 140]:
        for count in sorted({0, 1, total // 3, total // 2, total - 1, total}):
            for level in [0.9, 0.95, 0.99]:
                low, high = wilson(count, total, level)
                cases.append(
                    {"count": count, "total": total, "level": level, "lower": low, "upper": high}
                )
    return cases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="unused; kept for symmetry")
    parser.add_argument("--out", type=Path, required=True, help="reference root folder")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(SEED)
    reference = {
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "wilson_source": wilson_source(),
        "level": LEVEL,
        **distribution_cases(),
        "wilson": wilson_cases(),
        "auc_cases": auc_cases(rng),
        "delong_pairs": delong_pairs(rng),
        "spearman": spearman_cases(rng),
    }

    target = args.out / "stats" / "stats.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(reference, allow_nan=False))
    print(
        f"stats: {len(reference['auc_cases'])} AUC cases, {len(reference['delong_pairs'])} "
        f"DeLong pairs, {len(reference['spearman'])} Spearman cases -> {target}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
