"""The column dictionary of a sweep's runs.csv: every column, its unit and its
meaning (`gapkit columns` prints it; the README's "Reading runs.csv with
pandas" points here).

One row of runs.csv is one run: a grid point (T, batch, lr) x replicate, an
ensemble of data sets x chains (toy models) or data draws x network seeds
(torch). Losses are per example, in the model's own loss units (cross-entropy
in nats for networks). A ``_ci95`` column is the half-width of the 95%
interval of the column it follows, across the run's data sets. Empty cells are missing values (pandas reads NaN).

Backends differ: a column marked "toy" is a setting of the Numba toy models;
torch runs may carry such a column from the sweep's spec, but a network does
not use it (the torch run lists it in ``ignored_keys``). A column marked
"torch" only torch runs have.
"""
from __future__ import annotations

import fnmatch

__all__ = ["COLUMNS", "PATTERNS", "describe", "column_table"]

# name: (unit, who has it, meaning)
COLUMNS: dict[str, tuple[str, str, str]] = {
    # what ran
    "model": ("-", "all", "toy model (quadratic1d, quadratic, linreg, logreg, rfridge) or network (mlp, resnet18, ...)"),
    "algo": ("-", "all", "sgd (Eq 15), langevin (Eq 17, Euler-Maruyama) or momentum (Eq 16)"),
    "backend": ("-", "all", "numba (toy models) or torch (networks)"),
    "cosine": ("bool", "all", "cosine learning-rate schedule (T from the initial lr)"),
    "T": ("-", "all", "temperature T = lr / batch (Eq 15)"),
    "batch": ("examples", "all", "minibatch size B"),
    "lr": ("-", "all", "learning rate lam (the initial one with cosine)"),
    "replicate": ("index", "all", "replicate of the grid point (0, 1, ...; --seeds of them)"),
    "seed": ("-", "all", "the run's 63-bit seed, derived from root_seed and the run's configuration"),
    "root_seed": ("-", "all", "the sweep's root seed (--seed)"),
    "key": ("-", "all", "sha256 of the run's configuration: its record is runs/<key>.json"),
    "steps": ("updates", "all", "updates per chain (toy: the equal-rescaled-time rule, or --max-steps; torch: "
              "epochs x minibatches per epoch)"),
    "burnin": ("updates", "toy", "updates left out of the time averages"),
    "burnin_rule": ("-", "toy", "how steps and burn-in were chosen, in words"),
    "burnin_requested": ("updates", "toy", "the burn-in the rule asked for before a cap shortened it (empty: not "
                         "shortened; None in the record: the chain's mean does not contract)"),
    "burnin_shortened": ("bool", "toy", "a cap (--max-steps or --steps) shortened the burn-in the rule asked for"),
    "stable": ("bool", "toy", "every data set's chain is stable up front (exact mean and second-moment maps); "
               "False: some data sets left out as diverged; empty: not known up front"),
    "unstable_datasets": ("count", "toy", "data sets whose chain cannot be stationary (left out, never averaged)"),
    "mean_radius": ("-", "toy", "largest spectral radius of the exact mean map over the data sets (< 1: stable)"),
    "second_moment_radius": ("-", "toy", "largest spectral radius of the second-moment map (< 1: finite variance)"),
    "stability": ("-", "toy", "the stability verdict in words"),
    "indicator_members": ("count", "torch", "networks of the ensemble the network indicators were computed on"),
    "hessian_trace_se": ("as the column", "torch", "standard error of the Hutchinson Hessian-trace estimate"),
    "T_eff": ("-", "torch", "effective temperature lr_eff / B, lr_eff = lr / (1 - momentum) (variant sweeps)"),
    "lr_eff": ("-", "torch", "effective learning rate lr / (1 - momentum)"),
    "epochs_planned": ("epochs", "torch", "epochs the run length rule asked for"),
    "extended_epochs": ("epochs", "torch", "epochs added because the run failed the steady-state test"),
    "hess_top": ("-", "torch", "top Hessian eigenvalue of the training loss at the end (median over the networks)"),
    "hess_top_max": ("-", "torch", "largest top Hessian eigenvalue over the networks"),
    "stability_edge": ("-", "torch", "the stability edge 2 (1 + momentum) / lr"),
    "edge_ratio": ("-", "torch", "hess_top / stability_edge (> 1: beyond the edge)"),
    "capped": ("bool", "all", "the run was shortened by --max-steps (its steady verdict is then never 'unknown')"),
    "epochs": ("epochs", "torch", "training epochs (the paper's epoch rule N(T), Appendix E)"),
    "datasets": ("count", "all", "K: independent training sets per run (torch: data draws from the pool)"),
    "chains": ("count", "all", "M: chains per training set (torch: networks, one per seed, per draw)"),
    "n": ("examples", "all", "training-set size"),
    "dim": ("-", "toy", "parameter dimension d (rfridge: number of features)"),
    "alpha": ("-", "all", "weight decay alpha (L2 coefficient of the loss)"),
    "beta": ("-", "all", "scale of the added isotropic gradient noise beta (Eq 15)"),
    "momentum": ("-", "all", "momentum mu (0 for plain SGD)"),
    "dt": ("updates", "toy", "Euler-Maruyama step of langevin, in update units (unused by sgd and momentum)"),
    "data_mean": ("-", "toy", "mean of each input coordinate of the toy data distribution"),
    "data_std": ("-", "toy", "standard deviation of each input coordinate"),
    "noise_std": ("-", "toy", "label-noise standard deviation (linreg, rfridge)"),
    "pool": ("examples", "all", "size of the finite pool training and test sets are drawn from (empty: no pool)"),
    "scheme": ("-", "all", "how sets are drawn from the pool: iid / sample (independent random sampling) or split"),
    "problem_seed": ("-", "toy", "seed of the data distribution shared by every run of the sweep"),
    "model_kwargs.problem_seed": ("-", "toy", "the same seed as the model saw it"),
    "indicators": ("bool", "all", "the run computed the backend's indicators (ind_* columns)"),
    "record_every": ("updates", "toy", "updates between recorded trace points"),
    "loss_stride": ("updates", "toy", "updates between the loss evaluations averaged into train_loss/test_loss"),
    "test_loss_source": ("-", "toy", "how the test loss is computed (exact population loss or a test set)"),
    # the numbers
    "gap": ("loss", "all", "data-averaged generalization gap <U_e - U_l> at the steady state (Eq 6)"),
    "train_loss": ("loss", "all", "data-averaged steady-state train loss U_l"),
    "test_loss": ("loss", "all", "data-averaged steady-state test loss U_e"),
    "gap_plain": ("loss", "toy", "the gap as a plain mean over data sets (gap may use control variates)"),
    "gap_estimator": ("-", "toy", "how gap was estimated (plain mean, or control variates with known means)"),
    "gap_cv_variance_ratio": ("-", "toy", "variance of the control-variate gap over the plain one (< 1: it helped)"),
    "datasets_used": ("count", "all", "data sets (draws) with at least one chain that did not diverge"),
    "diverged": ("count", "all", "chains (members) that diverged (non-finite or |theta| > 1e30); left out"),
    "steady": ("bool", "all", "the run passed the steady-state test (drift |z| < 4 and ESS >= 100); "
               "findings use only steady runs"),
    "drift": ("loss", "all", "mean over data sets of (last quarter - the quarter before) of the train-loss trace"),
    "drift_se": ("loss", "all", "standard error of drift across data sets"),
    "drift_z": ("-", "all", "drift / drift_se (Student t with K - 1 degrees of freedom when stationary)"),
    "train_acc": ("fraction", "torch", "steady-state train accuracy"),
    "test_acc": ("fraction", "torch", "steady-state test accuracy"),
    "acc_gap": ("fraction", "torch", "train_acc - test_acc"),
    "sigma_l": ("loss", "torch", "standard deviation of the train loss over the measuring window"),
    "fdr1": ("-", "torch", "first fluctuation-dissipation ratio of the window (1 at a Langevin steady state)"),
    "dist_init": ("parameter units", "torch", "distance of the final parameters from their initialization"),
    "equilibrated": ("bool", "torch", "the same verdict as steady, as the torch backend records it"),
    "ignored_keys": ("-", "torch", "toy-model settings the sweep sent that a network does not use: those "
                     "columns (data_mean, data_std, noise_std, ...) mean nothing on this row"),
    "dataset": ("-", "torch", "the data set (mnist1d, digits, cifar10)"),
    "n_test": ("examples", "torch", "test-set size per draw"),
    "label_noise": ("fraction", "torch", "probability that a training label is replaced by another class, per draw "
                    "(Fu et al.; test labels stay true)"),
    "ghost_batch": ("examples", "torch", "ghost batch norm: BatchNorm statistics over chunks of this many examples "
                    "(Hoffer et al.; 0: the whole minibatch)"),
    "n_params": ("count", "torch", "trainable parameters of the network"),
    "device": ("-", "torch", "where it trained (cpu, cuda)"),
    "dtype": ("-", "torch", "training precision (float32, float64, tf32, bf16)"),
    "path": ("-", "torch", "vmap (the ensemble trained as one batched network) or loop (one network at a time)"),
    "equilibrated_method": ("-", "torch", "the steady-state rule, in words"),
    "ind_status": ("-", "all", "ok when the indicators were computed"),
}

# Families of columns, matched by shell pattern, in this order.
PATTERNS: dict[str, tuple[str, str, str]] = {
    "*_ci95": ("as the column", "all", "half-width of the 95% interval of the column named before _ci95"),
    "eq_*": ("-", "all", "equilibration diagnostics of the train-loss trace (recorded; only eq_ess votes in "
             "steady): eq_ess effective records, eq_tau autocorrelation time in records, eq_geweke_* pooled "
             "Geweke z, eq_reasons the reasons a trace is not equilibrated"),
    "theory.*": ("as the quantity", "toy", "exact theory of the run where known (theory.source says which law); "
                 "theory.sde_limit.* the continuous-time limit"),
    "ind_*": ("indicator's own", "all", "an indicator of the related papers (`gapkit score` ranks them against gap)"),
    "bound_*": ("loss", "all", "a bound on the gap (`gapkit score` scores how often it holds and how loose it is)"),
    "model_kwargs.*": ("-", "all", "a model setting given with --set KEY=VALUE or by the preset"),
}


def describe(column: str) -> tuple[str, str, str] | None:
    """(unit, who has it, meaning) of a runs.csv column; None if unknown."""
    if column in COLUMNS:
        return COLUMNS[column]
    for pat, d in PATTERNS.items():
        if fnmatch.fnmatchcase(column, pat):
            return d
    return None


def column_table(columns=None) -> list[dict]:
    """Rows {column, unit, backend, meaning}: for `columns` (a runs.csv
    header; unknown ones say so) or, without, the whole dictionary."""
    names = list(columns) if columns is not None else list(COLUMNS) + list(PATTERNS)
    out = []
    for c in names:
        unit, who, meaning = describe(c) or ("?", "?", "not in the dictionary")
        out.append({"column": c, "unit": unit, "backend": who, "meaning": meaning})
    return out
