"""Steady state of a run: how long to run, how to summarize, whether it got there.

Backend-neutral numpy on traces (the Numba simulators' recorded traces and the
torch backend's per-epoch traces alike). A trace is a 1-D array over time, or
an array whose last axis is time, e.g. (K data sets, M chains, S records).

- How long: the time-rescaling rule of Appendix B (`rescaled_steps`), the
  paper's epoch formula of Appendix B/E (`paper_epochs`) and the per-update
  contraction rate of the discrete chain that the burn-in rules use
  (`contraction_rate`).
- Summary: the paper's median over the last window after a late-spike cut
  (Appendix E; `spike_cut_end`, `steady_summary`).
- Diagnostics: integrated autocorrelation time (Sokal's automatic window on an
  FFT autocovariance), effective sample size, a pooled Geweke drift test
  (`equilibration`), Yaida's FDR1 ratio (`fdr1`), and the stationarity
  residuals of the moment equations Eqs 34-37 (`moment_residuals`). The
  verdict of a run (steady or not) is `gapkit.sims.stats._equilibration`'s:
  its drift test is across data sets; the pooled Geweke z here only records.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from gapkit.theory._validate import ArgumentError, check_finite, check_int, check_nonneg, check_positive

__all__ = [
    "rescaled_steps",
    "contraction_rate",
    "paper_epochs",
    "spike_cut_end",
    "steady_summary",
    "steady_value",
    "AutocorrTime",
    "integrated_autocorr_time",
    "effective_sample_size",
    "equilibration",
    "fdr1",
    "moment_residuals",
]

PAPER_REFERENCE_EPOCHS = 300
PAPER_REFERENCE_T = 2e-4
PAPER_MAX_FACTOR = 4.0
PAPER_WINDOW = 50
PAPER_SPIKE_SHORT = 7
PAPER_SPIKE_LONG = 25
SOKAL_C = 5.0


# ------------------------------------------------------------------ run length
def rescaled_steps(
    T: float,
    reference_T: float,
    reference_steps: int,
    *,
    B: int = 1,
    reference_B: int = 1,
    min_factor: float = 0.0,
    max_factor: float = math.inf,
) -> int:
    """Number of updates that matches a reference run in rescaled time (Appendix B).

    The diffusion of Eq 17 in rescaled time t' = lam t depends only on T and
    alpha, so two runs match when lam_1 n_1 = lam_2 n_2 (n = number of
    updates). With lam = T B this is the paper's T_1 (B_1 n_1) = T_2 (B_2 n_2):

        n = ceil( reference_steps * (reference_T * reference_B) / (T * B) ),

    with the ratio (reference_T reference_B) / (T B) first clipped to
    [min_factor, max_factor] (the paper caps its epoch count; see `paper_epochs`).
    Equal alpha is assumed (it is not rescaled).
    """
    T = check_positive("T", T)
    reference_T = check_positive("reference_T", reference_T)
    reference_steps = check_int("reference_steps", reference_steps, 1)
    B = check_int("B", B, 1)
    reference_B = check_int("reference_B", reference_B, 1)
    min_factor = check_nonneg("min_factor", min_factor)
    if not (max_factor > 0) or max_factor < min_factor:
        raise ArgumentError(f"max_factor must be > 0 and >= min_factor (got {max_factor!r})")
    ratio = (reference_T * reference_B) / (T * B)
    ratio = min(max(ratio, min_factor), max_factor)
    return max(1, _ceil_count(reference_steps * ratio))


def _ceil_count(x: float) -> int:
    """ceil(x) for a count that is exact in real arithmetic: a value within
    1e-9 (relative) of an integer is that integer, so round-off in the factor
    does not add one (80 x 1.75 with T = 0.3/12 is 140.00000000000003 in
    floats, and 140 epochs, not 141)."""
    r = round(x)
    if abs(x - r) <= 1e-9 * max(1.0, abs(x)):
        return int(r)
    return int(math.ceil(x))


def contraction_rate(r: float, *, momentum: float = 0.0) -> float:
    """Decay rate per update, -log rho, of the mean of a mode with curvature kappa
    (kappa = c + alpha, r = lam dt kappa) under the discrete update of Eqs 15-17:
    the offset of the mean from its steady value shrinks by rho per update, so
    exp(-e) of it is left after e / rate updates.

    Plain SGD and Euler-Maruyama Langevin: theta' - m = (1 - r)(theta - m), so
    rho = |1 - r| (r < 1: rate = -log(1 - r) >= r, the continuous-time rate;
    1 < r < 2: slower than exp(-r) and -> 0 at the stability edge r = 2).
    Heavy ball (Eq 16, either form): theta' = (1 - r) theta + mu (theta - theta_prev),
    companion matrix [[1 + mu - r, -mu], [1, 0]] with characteristic polynomial
    z^2 - (1 + mu - r) z + mu, rho its spectral radius (sqrt(mu) for complex roots).
    Returns 0.0 where rho >= 1 (no contraction: r <= 0, or beyond the edge
    r >= 2 (1 + mu)), inf where rho = 0 (r = 1, mu = 0: one update).
    """
    r = check_finite("r", r)
    momentum = check_nonneg("momentum", momentum)
    if momentum >= 1.0:
        raise ArgumentError(f"momentum must be in [0, 1) (got {momentum!r})", param="momentum")
    rho = _companion_radius(r, momentum)
    if rho >= 1.0:
        return 0.0
    return math.inf if rho == 0.0 else -math.log(rho)


def _companion_radius(r: float, mu: float) -> float:
    """Spectral radius of [[1 + mu - r, -mu], [1, 0]] (|1 - r| at mu = 0)."""
    b = 1.0 + mu - r
    disc = b * b - 4.0 * mu
    if disc < 0:
        return math.sqrt(mu)
    sq = math.sqrt(disc)
    return max(abs(0.5 * (b + sq)), abs(0.5 * (b - sq)))


def paper_epochs(
    T: float,
    *,
    reference_epochs: int = PAPER_REFERENCE_EPOCHS,
    reference_T: float = PAPER_REFERENCE_T,
    max_factor: float = PAPER_MAX_FACTOR,
) -> int:
    """Epochs per run, Appendix B (used in Appendix E):

        N(T) = 300 max(1, min(4, 1 + (2e-4 / T - 1) / 4)),

    rounded up to an integer (exactly: round-off in the factor never adds an
    epoch, see `_ceil_count`). Epochs, not updates: at a fixed training-set size
    an epoch has n/B updates, so the rescaling rule asks for epochs ~ 1/T; the
    paper softens that (slope 1/4) and caps it at 4x the reference. The one
    epoch rule of gapkit: the sweep spec (`gapkit.sims.sweep._spec.epochs_for`,
    with the spec's reference run) and the torch backend's "paper" epochs use it.
    """
    T = check_positive("T", T)
    reference_epochs = check_int("reference_epochs", reference_epochs, 1)
    reference_T = check_positive("reference_T", reference_T)
    max_factor = check_positive("max_factor", max_factor)
    factor = max(1.0, min(max_factor, 1.0 + (reference_T / T - 1.0) / 4.0))
    return _ceil_count(reference_epochs * factor)


# ------------------------------------------------------------------ spike cut and summary
def _as_traces(trace, name="trace"):
    x = np.asarray(trace, dtype=np.float64)
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ArgumentError(f"{name} must be an array whose last axis is time (got shape {x.shape})", param=name)
    return x


def spike_cut_end(trace, *, short: int = PAPER_SPIKE_SHORT, long: int = PAPER_SPIKE_LONG, margin: float = 0.0) -> np.ndarray:
    """Where the paper's late-spike cut ends a run (Appendix E).

    The paper: "We detect spikes simply by checking if the last 7 epochs in the
    run have a larger average than the last 25, and detect the epoch where this
    starts to happen to make that the new end of the run." With
    spike(e) = mean(x[e-short:e]) > mean(x[e-long:e]) + margin |mean(x[e-long:e])|
    for a run ending at e (exclusive), the rule chosen here is: if spike(S) is
    false, keep the whole run; else walk back from e = S while spike(e) holds and
    end the run at the first e where it fails (the last end at which no spike is
    seen; the epoch x[e] that tipped it is dropped). Runs shorter than `long`
    are never cut; the walk stops at e = long. margin = 0 is the paper's rule.

    Returns the end index (exclusive) per trace, shape trace.shape[:-1].
    """
    x = _as_traces(trace)
    short = check_int("short", short, 1)
    long = check_int("long", long, short + 1)
    margin = check_nonneg("margin", margin)
    S = x.shape[-1]
    ends = np.full(x.shape[:-1], S, dtype=np.int64)
    if S < long:
        return ends
    c = np.concatenate([np.zeros(x.shape[:-1] + (1,)), np.cumsum(x, axis=-1)], axis=-1)
    e = np.arange(long, S + 1)
    m_short = (c[..., e] - c[..., e - short]) / short
    m_long = (c[..., e] - c[..., e - long]) / long
    spike = m_short > m_long + margin * np.abs(m_long)  # shape (..., S - long + 1), ends long..S
    # position (from the end) of the last 'no spike'; all-spike walks back to e = long
    rev = spike[..., ::-1]
    n_trailing = np.where(rev.all(axis=-1), rev.shape[-1] - 1, np.argmin(rev, axis=-1))
    return (S - n_trailing).astype(np.int64)


def steady_summary(
    trace,
    *,
    window: int = PAPER_WINDOW,
    spike_cut: bool = True,
    ends=None,
    short: int = PAPER_SPIKE_SHORT,
    long: int = PAPER_SPIKE_LONG,
    margin: float = 0.0,
) -> dict:
    """The paper's steady-state value of a run (Section 3, Appendix E): the
    median over the last `window` records (50 epochs) of the run, after the
    late-spike cut of `spike_cut_end` (the paper applies the cut for B >= 1000;
    pass spike_cut=False to skip it). `ends` (shape trace.shape[:-1]) gives the
    runs' ends instead, e.g. the cut of the train loss applied to every metric
    of the run. A run shorter than the window (or cut to fewer records) uses all
    the records before its end.

    Non-finite rule: a window holding a non-finite record gives value nan and
    diverged True (the run blew up; callers count it as diverged and leave it
    out of every average). A non-finite record makes the cut's comparisons
    false, so a diverged run is not cut away from its blow-up.

    Returns {"value", "end", "cut", "n_used", "diverged"}, each of shape
    trace.shape[:-1] (Python scalars for a 1-D trace): value the median, end the
    exclusive end index, cut whether the end moved, n_used the records in the
    window.
    """
    x = _as_traces(trace)
    window = check_int("window", window, 1)
    S = x.shape[-1]
    if ends is not None:
        ends = np.broadcast_to(np.asarray(ends, dtype=np.int64), x.shape[:-1])
        if np.any(ends < 1) or np.any(ends > S):
            raise ArgumentError(f"ends must be in [1, {S}] (the trace has {S} records)")
    elif spike_cut:
        ends = spike_cut_end(x, short=short, long=long, margin=margin)
    else:
        ends = np.full(x.shape[:-1], S, dtype=np.int64)
    idx = ends[..., None] - window + np.arange(window)
    valid = idx >= 0
    vals = np.take_along_axis(x, np.clip(idx, 0, S - 1), axis=-1)
    diverged = np.any(valid & ~np.isfinite(vals), axis=-1)
    n_used = np.minimum(ends, window)
    vals = np.where(diverged[..., None], 0.0, vals)  # placeholders: a diverged run's value is nan
    if np.all(valid):
        med = np.median(vals, axis=-1)
    else:  # runs shorter than the window: the median of what they have
        med = np.nanmedian(np.where(valid, vals, np.nan), axis=-1)
    med = np.where(diverged, np.nan, med)
    out = {"value": med, "end": ends, "cut": ends < S, "n_used": n_used, "diverged": diverged}
    if x.ndim == 1:
        out = {"value": float(med), "end": int(ends), "cut": bool(ends < S), "n_used": int(n_used),
               "diverged": bool(diverged)}
    return out


def steady_value(trace, **kwargs):
    """The value of `steady_summary` alone (a float for a 1-D trace, else an
    array of shape trace.shape[:-1]); the keyword arguments are its own."""
    return steady_summary(trace, **kwargs)["value"]


# ------------------------------------------------------------------ autocorrelation
class AutocorrTime(NamedTuple):
    """Integrated autocorrelation time tau = 1 + 2 sum_{t=1}^{W} rho(t), the
    Sokal window W, and the standard error sqrt(2 (2W + 1) / N) tau (Sokal 1997,
    N = total records over the chains). reliable: N / n_chains >= 50 tau."""

    tau: float
    window: int
    stderr: float
    reliable: bool


def _acf(x2):
    """Normalized autocorrelation of each row of x2 (n, S), FFT with zero padding."""
    S = x2.shape[-1]
    xc = x2 - x2.mean(axis=-1, keepdims=True)
    nfft = 1 << (2 * S - 1).bit_length()
    f = np.fft.rfft(xc, n=nfft, axis=-1)
    acov = np.fft.irfft(f * np.conj(f), n=nfft, axis=-1)[..., :S] / S
    with np.errstate(invalid="ignore", divide="ignore"):
        return acov / acov[..., :1]


def _sokal(rho, c):
    """tau and window from autocorrelation rows (n, S) by Sokal's rule: the
    smallest W with W >= c tau(W). Rows with no such W use the last lag."""
    tau_w = 2.0 * np.cumsum(rho, axis=-1) - 1.0  # tau(W) for W = 0..S-1
    W = np.arange(rho.shape[-1])
    ok = W >= c * tau_w
    win = np.where(ok.any(axis=-1), np.argmax(ok, axis=-1), rho.shape[-1] - 1)
    tau = np.take_along_axis(tau_w, win[..., None], axis=-1)[..., 0]
    return np.maximum(tau, 1.0 / rho.shape[-1]), win


def integrated_autocorr_time(trace, *, c: float = SOKAL_C, per_chain: bool = False):
    """Integrated autocorrelation time of a trace (last axis = time).

    Leading axes are independent chains of one process: by default their
    normalized autocorrelations are averaged before Sokal's automatic window
    (tau(W) = 1 + 2 sum_{t<=W} rho(t), W the smallest lag with W >= c tau(W),
    c = 5); with per_chain=True each chain gets its own tau (returned as an
    array, shape trace.shape[:-1]). Returns `AutocorrTime` otherwise.
    For an AR(1) chain x_{t+1} = phi x_t + noise, tau = (1 + phi) / (1 - phi).
    """
    x = _as_traces(trace)
    c = check_positive("c", c)
    S = x.shape[-1]
    if S < 4:
        raise ArgumentError(f"trace must have at least 4 records along time (got {S})")
    if not np.all(np.isfinite(x)):
        raise ArgumentError("trace must be finite (found nan or inf)")
    x2 = x.reshape(-1, S)
    rho = _acf(x2)
    const = ~np.isfinite(rho[:, 0])
    rho[const] = 0.0
    rho[const, 0] = 1.0  # a constant chain: no correlation to measure
    if per_chain:
        tau, _ = _sokal(rho, c)
        return tau.reshape(x.shape[:-1])
    tau, win = _sokal(rho.mean(axis=0, keepdims=True), c)
    tau, win = float(tau[0]), int(win[0])
    n_total = x2.size
    se = math.sqrt(2.0 * (2 * win + 1) / n_total) * tau
    return AutocorrTime(tau=tau, window=win, stderr=se, reliable=bool(S >= 50 * tau))


def effective_sample_size(trace, *, c: float = SOKAL_C) -> float:
    """Total number of records over all chains divided by the (pooled)
    integrated autocorrelation time: ESS = N / tau."""
    x = _as_traces(trace)
    return float(x.size / integrated_autocorr_time(x, c=c).tau)


def _mean_se(x2, c):
    """Per-row mean and its standard error sqrt(var tau / S)."""
    S = x2.shape[-1]
    tau = integrated_autocorr_time(x2, c=c, per_chain=True)
    return x2.mean(axis=-1), np.sqrt(x2.var(axis=-1, ddof=1) * tau / S)


def equilibration(
    trace,
    *,
    discard: int = 0,
    first: float = 0.1,
    last: float = 0.5,
    z_crit: float = 4.0,
    min_ess: float = 100.0,
    c: float = SOKAL_C,
) -> dict:
    """Is a trace (1-D, or (..., S) with independent chains in the leading axes)
    at its steady state after dropping `discard` records?

    Drift: Geweke's test per chain, z = (mean of the first `first` fraction -
    mean of the last `last` fraction) / sqrt(se_a^2 + se_b^2), each se from the
    segment's own autocorrelation time; pooled over n chains as
    z_pool = sum(z) / sqrt(n), which is N(0, 1) at equilibrium (chains are
    independent), so a drift shared by the chains (relaxation from a common
    start) shows up even when each chain is short. Precision: ESS = total
    records / pooled tau.

    The trace must be finite: leave diverged chains out before calling.

    equilibrated = |z_pool| < z_crit and ESS >= min_ess. z_crit = 4: a false
    alarm rate of 6e-5 per call for long chains of a symmetric loss; on short
    segments of a skewed loss the per-chain standard errors correlate with the
    segment means and z_pool is biased (false alarms in 20-80% of stationary
    runs of 16-64 data sets x 2 chains x 67 records, tests/test_steady.py), so
    a sweep run's verdict is `gapkit.sims.stats._equilibration.steady_verdict`
    (which records these numbers as eq_* and uses the ESS).

    Also returned: tau (pooled AutocorrTime
    fields), median per-chain tau, the fraction of chains with |z| > 3, and
    `reasons` (why not, empty when equilibrated).
    """
    x = _as_traces(trace)
    discard = check_int("discard", discard, 0)
    if not (0 < first < 1 and 0 < last < 1 and first + last <= 1):
        raise ArgumentError(f"first and last must be in (0, 1) with first + last <= 1 (got {first}, {last})")
    z_crit = check_positive("z_crit", z_crit)
    min_ess = check_nonneg("min_ess", min_ess)
    x = x[..., discard:]
    S = x.shape[-1]
    na, nb = int(S * first), int(S * last)
    if na < 4 or nb < 4:
        raise ArgumentError(f"trace must keep at least {int(math.ceil(4 / min(first, last)))} records after discard (got {S})")
    x2 = x.reshape(-1, S)
    ma, sa = _mean_se(x2[:, :na], c)
    mb, sb = _mean_se(x2[:, S - nb:], c)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where((sa > 0) | (sb > 0), (ma - mb) / np.sqrt(sa**2 + sb**2), 0.0)
    z_pool = float(z.sum() / math.sqrt(z.size))
    act = integrated_autocorr_time(x2, c=c)
    ess = x2.size / act.tau
    reasons = []
    if not abs(z_pool) < z_crit:
        reasons.append(f"drift: pooled Geweke z = {z_pool:.2f} (|z| >= {z_crit})")
    if not ess >= min_ess:
        reasons.append(f"too few effective samples: ESS = {ess:.1f} < {min_ess}")
    return {
        "equilibrated": not reasons,
        "reasons": reasons,
        "geweke_z_pooled": z_pool,
        "geweke_frac_over_3": float(np.mean(np.abs(z) > 3)),
        "tau": act.tau,
        "tau_stderr": act.stderr,
        "tau_window": act.window,
        "tau_reliable": act.reliable,
        "tau_median_per_chain": float(np.median(integrated_autocorr_time(x2, c=c, per_chain=True))),
        "ess": float(ess),
        "n_chains": int(x2.shape[0]),
        "n_records": int(S),
    }


# ------------------------------------------------------------------ fluctuation-dissipation
def _ratio_se(a, b):
    """Ratio of means r = mean(a)/mean(b) over records (last axis) and all
    chains, with a delta-method standard error from the spread of the per-chain
    means of the linearized series a - r b across the independent chains:
    se = sd_chains(mean_t (a - r b)) / sqrt(C) / |mean b| (nan for one chain).

    Not an autocorrelation window on one chain: for FDR1 that series telescopes,
    theta.grad f_B - (lr/2)|grad f_B|^2 = (|theta_t|^2 - |theta_{t+1}|^2) / (2 lr),
    so its window sum is bounded and its autocorrelation has a long negative tail
    that Sokal's automatic window misses (that SE was ~12x too large)."""
    r = a.mean() / b.mean()
    lin = (a - r * b).reshape(-1, a.shape[-1]).mean(axis=-1)
    if lin.size < 2:
        return float(r), math.nan
    se = float(lin.std(ddof=1)) / math.sqrt(lin.size) / abs(b.mean())
    return float(r), se


def fdr1(theta_dot_grad, grad_sq, *, lr: float, momentum: float = 0.0, dampening: float = 0.0,
         tol: float = 0.01) -> dict:
    """Yaida's first fluctuation-dissipation relation (INDICATORS.md; Yaida 2018).

    Plain SGD on f (weight decay inside f), theta_{t+1} = theta_t - lr grad f_B:
        O_L = <theta . grad f>,   O_R = (lr / 2) <||grad f_B||^2>.
    PyTorch momentum, v_{t+1} = mu v_t + (1 - nu) grad f_B, theta_{t+1} = theta_t - lr v_{t+1}:
        O_R = (lr / 2) (1 + mu) / (1 - nu) <v . v>.
    Both are exact for the discrete chain at stationarity (from
    E|theta_{t+1}|^2 = E|theta_t|^2), whatever f is.

    theta_dot_grad: series of theta_t . grad f(theta_t) (grad f_B also works,
    it has the same conditional mean); grad_sq: series of ||grad f_B||^2 (plain)
    or ||v||^2 (momentum), at the same steps. Last axis = time; leading axes
    are independent chains. Following Yaida the verdict uses the second half of
    the window: steady = |O_L / O_R - 1| < tol (default 0.01).
    Returns ratio, ratio_stderr (second half; from the spread across chains,
    `_ratio_se`, nan with one chain), ratio_stderr_source, ratio_full (whole
    window), O_L, O_R, steady.
    """
    a = _as_traces(theta_dot_grad, "theta_dot_grad")
    b = _as_traces(grad_sq, "grad_sq")
    if a.shape != b.shape:
        raise ArgumentError(f"theta_dot_grad and grad_sq must have the same shape (got {a.shape} and {b.shape})")
    lr = check_positive("lr", lr)
    if not (0 <= momentum < 1):
        raise ArgumentError(f"momentum must be in [0, 1) (got {momentum!r})")
    if not (0 <= dampening < 1):
        raise ArgumentError(f"dampening must be in [0, 1) (got {dampening!r})")
    tol = check_positive("tol", tol)
    S = a.shape[-1]
    if S < 8:
        raise ArgumentError(f"theta_dot_grad must have at least 8 records along time (got {S})")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ArgumentError("theta_dot_grad and grad_sq must be finite")
    scale = 0.5 * lr * (1.0 + momentum) / (1.0 - dampening)
    h = S // 2
    r2, se2 = _ratio_se(a[..., h:], scale * b[..., h:])
    r_full, _ = _ratio_se(a, scale * b)
    chains = int(np.prod(a.shape[:-1]))
    return {
        "ratio": r2,
        "ratio_stderr": se2,
        "ratio_stderr_source": (f"delta method, spread of per-chain means across {chains} independent chains"
                                if chains > 1 else "none: one chain (the series telescopes; needs >= 2 chains)"),
        "ratio_full": r_full,
        "O_L": float(a[..., h:].mean()),
        "O_R": float(scale * b[..., h:].mean()),
        "steady": bool(abs(r2 - 1.0) < tol),
        "tol": tol,
    }


# ------------------------------------------------------------------ moment equations
def _bcast(name, arr, lead, tail):
    a = np.asarray(arr, dtype=np.float64)
    try:
        return np.broadcast_to(a, lead + tail)
    except ValueError:
        raise ArgumentError(f"{name} must have shape {lead + tail} or {tail} (got {a.shape})", param=name) from None


def moment_residuals(
    theta,
    grad_U,
    D,
    *,
    T: float,
    alpha: float = 0.0,
    beta: float = 0.0,
    hess_U=None,
    grad_Ue=None,
    hess_Ue=None,
    n_batches: int = 20,
) -> dict:
    """Stationarity residuals of the moment equations of Appendix A (Eqs 34-37),
    divided by lam, for one data set (the averages <.> are over rho(theta|x_l)):

    Eq 34: <grad U_l + alpha theta> = 0
    Eq 35: -(<grad U_l (theta - <theta>)'> + <(theta - <theta>) grad U_l'> + 2 alpha Sigma)
           + T <D + beta^2 I> = 0
    Eq 36: -(<|grad U_l|^2> + alpha <theta' grad U_l>) + (T/2) Tr<hess U_l (D + beta^2 I)> = 0
    Eq 37: -(<grad U_e' grad U_l> + alpha <theta' grad U_e>) + (T/2) Tr<hess U_e (D + beta^2 I)> = 0

    theta, grad_U: (S, d) or (M, S, d) stationary records (chains x time) of
    theta and grad U_l(theta); D: the per-example gradient covariance at those
    records, (..., d, d) or a constant (d, d); hess_U, grad_Ue, hess_Ue likewise
    (Eqs 36, 37 are evaluated when given). They are relations of the diffusion
    (Eq 17): a discrete SGD chain satisfies Eq 34 exactly and Eqs 35-37 up to
    O(lam) terms.

    Standard errors by batch means: each chain's records are cut into
    `n_batches` contiguous batches (batch length must exceed the
    autocorrelation time), the residual is computed per batch (with the global
    <theta> in Eq 35), and se = sd over batches / sqrt(number of batches).
    Returns per equation {"residual", "stderr", "z"} (arrays; Eq 35 as the
    upper triangle) and "max_abs_z" over everything evaluated.
    """
    th = np.asarray(theta, dtype=np.float64)
    if th.ndim == 2:
        th = th[None]
    if th.ndim != 3:
        raise ArgumentError(f"theta must have shape (S, d) or (M, S, d) (got {np.shape(theta)})")
    M, S, d = th.shape
    lead = (M, S)
    gU = _bcast("grad_U", grad_U, lead, (d,))
    Dm = _bcast("D", D, lead, (d, d))
    T = check_positive("T", T)
    alpha = check_nonneg("alpha", alpha)
    beta = float(beta)
    n_batches = check_int("n_batches", n_batches, 2)
    if S < 2 * n_batches:
        raise ArgumentError(f"theta must have at least 2 records per batch ({2 * n_batches}) (got {S})")
    for name, arr in (("theta", th), ("grad_U", gU), ("D", Dm)):
        if not np.all(np.isfinite(arr)):
            raise ArgumentError(f"{name} must be finite", param=name)
    Dn = Dm + beta**2 * np.eye(d)
    L = S // n_batches
    nb = M * n_batches

    def batched(q):  # q (M, S, ...) -> per-batch means (nb, ...)
        q = q[:, : L * n_batches]
        return q.reshape((M, n_batches, L) + q.shape[2:]).mean(axis=2).reshape((nb,) + q.shape[2:])

    def summarize(per_batch):
        r = per_batch.mean(axis=0)
        se = per_batch.std(axis=0, ddof=1) / math.sqrt(per_batch.shape[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(se > 0, r / se, np.where(r == 0, 0.0, np.inf))
        return {"residual": r, "stderr": se, "z": z}

    out = {}
    out["eq34"] = summarize(batched(gU + alpha * th))
    m = th.mean(axis=(0, 1))
    dth = th - m
    q35 = -(gU[..., :, None] * dth[..., None, :] + dth[..., :, None] * gU[..., None, :]
            + 2 * alpha * dth[..., :, None] * dth[..., None, :]) + T * Dn
    iu = np.triu_indices(d)
    out["eq35"] = summarize(batched(q35[..., iu[0], iu[1]]))
    if hess_U is not None:
        HU = _bcast("hess_U", hess_U, lead, (d, d))
        q36 = -(np.sum(gU**2, axis=-1) + alpha * np.sum(th * gU, axis=-1)) + 0.5 * T * np.einsum("...ij,...ji->...", HU, Dn)
        out["eq36"] = summarize(batched(q36))
    if grad_Ue is not None:
        if hess_Ue is None:
            raise ArgumentError("hess_Ue must be given with grad_Ue (Eq 37)")
        gE = _bcast("grad_Ue", grad_Ue, lead, (d,))
        HE = _bcast("hess_Ue", hess_Ue, lead, (d, d))
        q37 = -(np.sum(gE * gU, axis=-1) + alpha * np.sum(th * gE, axis=-1)) + 0.5 * T * np.einsum("...ij,...ji->...", HE, Dn)
        out["eq37"] = summarize(batched(q37))
    out["max_abs_z"] = float(max(np.max(np.abs(v["z"])) for v in out.values()))
    out["n_batches"] = int(nb)
    return out
