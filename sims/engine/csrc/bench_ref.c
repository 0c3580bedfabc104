/* Hand-written C reference for `gapkit bench` (compiled at benchmark time:
 * gcc -O3 -march=native -ffast-math -fopenmp).  Same workloads as the Numba
 * kernels in sims/_kernels.py, same generator family (xoshiro256+ per chain),
 * normals by a SIMD-friendly Box-Muller: chains are processed in blocks of
 * LANES so the compiler vectorises the generator and calls the vector math
 * library (libmvec) for log/sqrt/sin/cos.
 *
 * W1: 1-D Langevin (Euler-Maruyama of Eq 17) on the quadratic model
 *     theta += -lam (h (theta - xbar_k) + alpha theta) dt + sd_k z
 *     time-averaged train/test loss after burn-in.
 * W2: plain SGD (Eq 15) on linear regression, minibatch with replacement; its
 *     normals (d per step) come from the same Ziggurat as the Numba kernels
 *     (tables passed in by zig_init), so both sides draw the same way.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LANES 32

static inline uint64_t splitmix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline void seed_stream(uint64_t seed, uint64_t k, uint64_t m, uint64_t *s) {
    uint64_t h = splitmix(seed ^ 0x243F6A8885A308D3ULL);
    h = splitmix(h ^ (k * 0xD1B54A32D192ED03ULL));
    h = splitmix(h ^ (m * 0xABC98388FB8FAC03ULL));
    s[0] = splitmix(h); s[1] = splitmix(s[0]); s[2] = splitmix(s[1]); s[3] = splitmix(s[2]);
}

/* uniform on [1, 2) from the top 52 bits, by bit pattern (vectorises without
   64-bit integer -> double conversion instructions) */
static inline double one_two(uint64_t u) {
    union { uint64_t i; double d; } c;
    c.i = (u >> 12) | 0x3FF0000000000000ULL;
    return c.d;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* one xoshiro256+ step on LANES independent states (vectorisable) */
static inline void xo_block(uint64_t *restrict s0, uint64_t *restrict s1, uint64_t *restrict s2,
                            uint64_t *restrict s3, uint64_t *restrict out) {
#pragma omp simd
    for (int l = 0; l < LANES; l++) {
        out[l] = s0[l] + s3[l];
        uint64_t t = s1[l] << 17;
        s2[l] ^= s0[l]; s3[l] ^= s1[l]; s1[l] ^= s2[l]; s0[l] ^= s3[l];
        s2[l] ^= t; s3[l] = rotl(s3[l], 45);
    }
}

/* LANES normals from LANES draws: lanes [0, L/2) give u1, [L/2, L) give u2 */
static inline void box_muller(const uint64_t *restrict u, double *restrict z) {
    double a[LANES / 2], b[LANES / 2];
#pragma omp simd
    for (int l = 0; l < LANES / 2; l++) {
        double u1 = 2.0 - one_two(u[l]); /* (0, 1] */
        double u2 = one_two(u[l + LANES / 2]) - 1.0;
        double r = sqrt(-2.0 * log(u1));
        a[l] = r * cos(6.283185307179586 * u2);
        /* sin(x) = cos(x - pi/2): keeps gcc from fusing into sincos, which has no vector variant */
        b[l] = r * cos(6.283185307179586 * u2 - 1.5707963267948966);
    }
    for (int l = 0; l < LANES / 2; l++) { z[l] = a[l]; z[l + LANES / 2] = b[l]; }
}

/* W1. xbar, trs: per data set mean and (1/n) sum (x - xbar)^2; chains c = k*M + m.
   Outputs per chain: time-averaged train and test loss after burn-in. */
void w1_langevin(int64_t K, int64_t M, const double *xbar, const double *trs, double m_pop, double s2_pop,
                 double h, double lam, double T, double alpha, double beta, double dt,
                 int64_t steps, int64_t burnin, uint64_t seed, int nthreads,
                 double *train, double *test) {
    int64_t nc = K * M;
    int64_t nblocks = (nc + LANES - 1) / LANES;
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t bl = 0; bl < nblocks; bl++) {
        uint64_t s0[LANES], s1[LANES], s2[LANES], s3[LANES], u[LANES], st[4];
        double th[LANES], xb[LANES], sd[LANES], tr[LANES], te[LANES], z[LANES], ts[LANES];
        for (int l = 0; l < LANES; l++) {
            int64_t c = bl * LANES + l; if (c >= nc) c = nc - 1;
            int64_t k = c / M, m = c % M;
            seed_stream(seed, (uint64_t)k, (uint64_t)m, st);
            s0[l] = st[0]; s1[l] = st[1]; s2[l] = st[2]; s3[l] = st[3];
            th[l] = 0.0; xb[l] = xbar[k]; ts[l] = trs[k];
            sd[l] = sqrt(lam * T * dt * (h * h * trs[k] + beta * beta));
            tr[l] = 0.0; te[l] = 0.0;
        }
        const double a = 1.0 - lam * (h + alpha) * dt, b = lam * h * dt;
        for (int64_t t = 0; t < steps; t++) {
            xo_block(s0, s1, s2, s3, u);
            box_muller(u, z);
            if (t >= burnin) {
#pragma omp simd
                for (int l = 0; l < LANES; l++) {
                    double e = th[l] - xb[l], f = th[l] - m_pop;
                    tr[l] += 0.5 * h * (e * e + ts[l]);
                    te[l] += 0.5 * h * (f * f + s2_pop);
                }
            }
#pragma omp simd
            for (int l = 0; l < LANES; l++) th[l] = a * th[l] + b * xb[l] + sd[l] * z[l];
        }
        double w = 1.0 / (double)(steps - burnin);
        for (int l = 0; l < LANES; l++) {
            int64_t c = bl * LANES + l;
            if (c < nc) { train[c] = tr[l] * w; test[c] = te[l] * w; }
        }
    }
}

/* Ziggurat normals for W2 (the same 256-layer tables as sims/_rng.py, passed in
   once by zig_init): one 64-bit draw per normal on the fast path. */
static int64_t ZK[256];
static double ZW[256], ZF[257], ZTAIL;

void zig_init(const int64_t *k, const double *w, const double *f, double tail) {
    memcpy(ZK, k, sizeof ZK); memcpy(ZW, w, sizeof ZW); memcpy(ZF, f, sizeof ZF); ZTAIL = tail;
}

static inline uint64_t xo(uint64_t *s) {
    uint64_t out = s[0] + s[3], t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return out;
}

static inline double u01(uint64_t *s) { return (double)(xo(s) >> 11) * (1.0 / 9007199254740992.0); }

static double zig_slow(uint64_t u, uint64_t *s) {
    for (;;) {
        int i = (int)(u & 255);
        int64_t j = (int64_t)u >> 11;
        double x = (double)j * ZW[i];
        if (llabs(j) < ZK[i]) return x;
        double sign = j >= 0 ? 1.0 : -1.0;
        if (i == 0) {
            for (;;) {
                double xt = -log1p(-u01(s)) / ZTAIL, yt = -log1p(-u01(s));
                if (2.0 * yt > xt * xt) return sign * (ZTAIL + xt);
            }
        }
        if (ZF[i + 1] + u01(s) * (ZF[i] - ZF[i + 1]) < exp(-0.5 * x * x)) return x;
        u = xo(s);
    }
}

static inline double zig(uint64_t *s) {
    uint64_t u = xo(s);
    int i = (int)(u & 255);
    int64_t j = (int64_t)u >> 11;
    if (llabs(j) < ZK[i]) return (double)j * ZW[i];
    return zig_slow(u, s);
}

/* W2, fast path for beta = 0 and d = W2D: CH chains of one data set advance
   together (independent dependency chains give the core instruction-level
   parallelism; a single chain is latency-bound on its length-d dot product),
   and d is a compile-time constant so the inner loops unroll and vectorise.
   Same keyed streams and update order per chain as w2_sgd: identical results. */
#define W2D 10
#define CH 8
static void w2_group(int64_t k, int64_t m0, int64_t n, const double *Xk, const double *yk, double lam,
                     int64_t B, double alpha, int64_t steps, uint64_t seed, double *out) {
    uint64_t s[CH][4];
    double th[CH][W2D], g[CH][W2D];
    for (int c = 0; c < CH; c++) {
        seed_stream(seed, (uint64_t)k, (uint64_t)(m0 + c), s[c]);
        for (int j = 0; j < W2D; j++) th[c][j] = 0.0;
    }
    const double sc = 1.0 / (double)B;
    for (int64_t t = 0; t < steps; t++) {
        for (int c = 0; c < CH; c++)
            for (int j = 0; j < W2D; j++) g[c][j] = 0.0;
        for (int64_t b = 0; b < B; b += 2) {
            int64_t idx[CH][2];
            for (int c = 0; c < CH; c++) {
                uint64_t u = xo(s[c]);
                idx[c][0] = (int64_t)(((u >> 32) * (uint64_t)n) >> 32);
                idx[c][1] = (int64_t)(((u & 0xFFFFFFFFULL) * (uint64_t)n) >> 32);
            }
            for (int q = 0; q < 2 && b + q < B; q++) {
                for (int c = 0; c < CH; c++) {
                    const double *xi = Xk + idx[c][q] * W2D;
                    double r = -yk[idx[c][q]];
                    for (int j = 0; j < W2D; j++) r += th[c][j] * xi[j];
                    for (int j = 0; j < W2D; j++) g[c][j] += r * xi[j];
                }
            }
        }
        for (int c = 0; c < CH; c++)
            for (int j = 0; j < W2D; j++) th[c][j] -= lam * (g[c][j] * sc + alpha * th[c][j]);
    }
    for (int c = 0; c < CH; c++)
        for (int j = 0; j < W2D; j++) out[c * W2D + j] = th[c][j];
}

/* W2. X: (K, n, d), y: (K, n). Plain SGD, minibatch of B with replacement
   (two indices per 64-bit draw, multiply-shift), Gaussian beta noise (d Ziggurat
   normals per step).  Output: final parameters (K*M, d). */
void w2_sgd(int64_t K, int64_t M, int64_t n, int64_t d, const double *X, const double *y,
            double lam, int64_t B, double alpha, double beta, int64_t steps, uint64_t seed,
            int nthreads, double *theta_out) {
    int64_t nc = K * M;
    double bn = beta / sqrt((double)B);
    if (beta == 0.0 && d == W2D && M % CH == 0) {
        int64_t ng = nc / CH;
#pragma omp parallel for schedule(static) num_threads(nthreads)
        for (int64_t gi = 0; gi < ng; gi++) {
            int64_t c0 = gi * CH, k = c0 / M, m0 = c0 % M;
            w2_group(k, m0, n, X + k * n * d, y + k * n, lam, B, alpha, steps, seed, theta_out + c0 * d);
        }
        return;
    }
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t c = 0; c < nc; c++) {
        int64_t k = c / M, m = c % M;
        uint64_t s[4];
        seed_stream(seed, (uint64_t)k, (uint64_t)m, s);
        double th[256], g[256];
        const double *Xk = X + k * n * d, *yk = y + k * n;
        for (int j = 0; j < d; j++) th[j] = 0.0;
        const double sc = 1.0 / (double)B;
        for (int64_t t = 0; t < steps; t++) {
            for (int j = 0; j < d; j++) g[j] = 0.0;
            for (int64_t b = 0; b < B; b += 2) {
                uint64_t u = xo(s);
                int64_t idx[2] = {(int64_t)(((u >> 32) * (uint64_t)n) >> 32),
                                  (int64_t)(((u & 0xFFFFFFFFULL) * (uint64_t)n) >> 32)};
                for (int q = 0; q < 2 && b + q < B; q++) {
                    const double *xi = Xk + idx[q] * d;
                    double r = -yk[idx[q]];
                    for (int j = 0; j < d; j++) r += th[j] * xi[j];
                    for (int j = 0; j < d; j++) g[j] += r * xi[j];
                }
            }
            for (int j = 0; j < d; j++) {
                double gi = g[j] * sc;
                if (beta != 0.0) gi += bn * zig(s);
                th[j] -= lam * (gi + alpha * th[j]);
            }
        }
        for (int j = 0; j < d; j++) theta_out[c * d + j] = th[j];
    }
}
