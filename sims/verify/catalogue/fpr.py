"""False-claim rates of the finding tests (a test of the tests; --full catalogue).

Models whose truth is known (exact discrete laws, theory/_quadratic.py and
theory.linreg_*; the notes of `temperature`): on quadratic1d the gap does not
depend on T and the best T is 0; on linreg the stationary mean is the ridge
solution at every T, so the test loss only gains the thermal term and the
best T is 0 (with n > d and with the default n < d alike). Prediction B
("finite optimal T") and, on quadratic1d, "the gap falls with T" and "Eq 1's
shape holds" are false there: how often the sweep's findings claim them
(`gapkit.sims.stats._fit.findings`, over `FPR_SEEDS` root seeds of the quick
preset) is a measured false-claim rate, judged against the stated level
ALPHA = 0.05: PASS when the exact binomial (Clopper-Pearson) 95% interval of
the rate reaches down to ALPHA or below (the data do not show a rate above
the level), FAIL otherwise. Claims that are true or of unknown truth there
(collapse; "gap falls" on linreg) are INFO rows with the same interval.

Rows: ``fpr.<claim>.<case>``. Cases: ``quadratic1d`` and ``linreg`` (the
quick preset's settings) and ``linreg_n_gt_d`` (n = 32, dim = 4).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from gapkit.sims.verify._registry import register_check

FPR_SEEDS = 20  # root seeds per case (the issue's >= 20)
CASES = {
    "quadratic1d": dict(model="quadratic1d"),
    "linreg": dict(model="linreg"),
    "linreg_n_gt_d": dict(model="linreg", n=32, dim=4),
}
# Claim -> (how it is read off a sweep summary, is it false on the case?)
CLAIMS = {
    "B": (lambda s: s["B"]["holds"] is True, lambda case: True),
    "A_gap_falls": (lambda s: s["A"].get("gap_falls") is True, lambda case: case == "quadratic1d"),
    "A_eq1_holds": (lambda s: s["A"].get("eq1_holds") is True, lambda case: case == "quadratic1d"),
    "A": (lambda s: s["A"]["holds"] is True, lambda case: case == "quadratic1d"),
    "collapse": (lambda s: s["collapse"]["holds"] is True, lambda case: False),
}


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval of a rate from k successes in n trials."""
    from scipy.stats import beta

    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def claim_counts(case: str, seeds, *, preset: str = "quick", workers: int | None = None, **overrides) -> dict:
    """Run the case's sweep at each root seed (a temporary store) and count
    the claims of `CLAIMS`. Returns {"seeds": n, "counts": {claim: k},
    "not_judged": sweeps whose findings were not judged}."""
    from gapkit.sims.sweep._runner import run_sweep
    from gapkit.sims.sweep._spec import make_spec

    kw = dict(CASES[case], **overrides)
    model = kw.pop("model")
    counts = dict.fromkeys(CLAIMS, 0)
    not_judged = 0
    seeds = list(seeds)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            spec = make_spec(model, preset=preset, root_seed=int(seed), **kw)
            s = run_sweep(spec, Path(tmp) / f"s{seed}", workers=workers, progress=False, figures=False)
            not_judged += s["B"]["holds"] == "not judged"
            for name, (read, _) in CLAIMS.items():
                counts[name] += bool(read(s))
    return {"case": case, "seeds": len(seeds), "counts": counts, "not_judged": not_judged, "preset": preset,
            "overrides": kw}


def fpr_rows(ctx, case: str, study: dict, alpha: float) -> list:
    """PASS/FAIL rows for the claims false on `case`, INFO rows for the rest."""
    rows, n = [], study["seeds"]
    for name, (_, false_here) in CLAIMS.items():
        k = study["counts"][name]
        lo, hi = clopper_pearson(k, n)
        what = f"{name} claimed in {k}/{n} {study['preset']} sweeps of {case} (root seeds 0..{n - 1}); rate " \
               f"{k / n:.2f}, Clopper-Pearson 95% [{lo:.2f}, {hi:.2f}]"
        if false_here(case):
            rows.append(ctx.holds(f"fpr.{name}.{case}", equation="findings", model=case, lhs=lo, rhs=alpha,
                                  tolerance=0.0, tolerance_source="Clopper-Pearson 95% lower bound <= stated level",
                                  note=f"false claim on this model (truth known); {what}; PASS: the interval "
                                       f"reaches the stated level {alpha}",
                                  extra={"claims": k, "sweeps": n, "rate": k / n, "ci_lo": lo, "ci_hi": hi,
                                         "not_judged": study["not_judged"]}))
        else:
            rows.append(ctx.info(f"fpr.{name}.{case}", equation="findings", model=case, theory=None, measured=k / n,
                                 note=f"truth not a false claim here (INFO); {what}",
                                 extra={"claims": k, "sweeps": n, "ci_lo": lo, "ci_hi": hi}))
    return rows


def _provider(case):
    def provider(ctx):
        from gapkit.sims.stats._inference import ALPHA

        return fpr_rows(ctx, case, claim_counts(case, range(FPR_SEEDS)), ALPHA)

    provider.__qualname__ = f"fpr_{case}"
    return provider


for _case in CASES:
    register_check(ids=[f"fpr.{c}.{_case}" for c in CLAIMS], quick=False)(_provider(_case))
