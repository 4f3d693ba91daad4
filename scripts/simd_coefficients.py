#!/usr/bin/env python3
"""Derives the polynomial coefficients of backends/cpu/src/simd/ (exp, log, tanh) and prints
them with the worst error each approximation reaches on its reduced interval.

Method: Chebyshev interpolation of the smooth part of each function in 60-digit arithmetic
(mpmath.chebyfit), which is within a small factor of the minimax polynomial (Trefethen,
"Approximation Theory and Approximation Practice", ch. 16). The kernels then evaluate these
polynomials in f32 or f64 by Horner's rule. Run with the system python (mpmath):

    python3 scripts/simd_coefficients.py
"""
import mpmath as mp

mp.mp.dps = 60
LN2 = mp.log(2)


def fit(name, f, lo, hi, degree, err):
    poly, _ = mp.chebyfit(f, [lo, hi], degree + 1, error=True)
    coeffs = list(reversed(poly))  # constant term first
    xs = [lo + (hi - lo) * mp.mpf(i) / 4000 for i in range(4001)]
    worst = max(abs(err(x, mp.polyval(poly, x))) for x in xs)
    print(f"{name}: degree {degree}, worst relative error {mp.nstr(worst, 3)}")
    for i, c in enumerate(coeffs):
        print(f"    c{i} = {mp.nstr(c, 20)}")
    return coeffs


def exp_g(r):  # e^r = 1 + r + r^2 g(r)
    return (mp.exp(r) - 1 - r) / r**2 if r != 0 else mp.mpf(1) / 2


def tanh_p(u):  # tanh x = x + x^3 P(x^2)
    x = mp.sqrt(u)
    return (mp.tanh(x) - x) / x**3 if u != 0 else -mp.mpf(1) / 3


def log_h(z):  # log1p f = f - hfsq + s (hfsq + z h(z)), s = f / (2 + f), z = s^2
    s = mp.sqrt(z)
    return (2 * mp.atanh(s) / s - 2) / z if z != 0 else mp.mpf(2) / 3


R = LN2 / 2 * mp.mpf("1.01")  # |r| after rounding k = x / ln 2 to the nearest integer
S = (mp.sqrt(2) - 1) / (mp.sqrt(2) + 1)  # |s| for m in [sqrt(1/2), sqrt(2))
T = mp.mpf("0.5625")  # tanh's polynomial interval [0, T]

for ty, exp_deg, tanh_deg, log_deg in (("f32", 4, 4, 2), ("f64", 9, 10, 6)):
    print(f"--- {ty}")
    fit(f"exp g ({ty})", exp_g, -R, R, exp_deg, lambda r, g: (1 + r + r * r * g - mp.exp(r)) / mp.exp(r))
    fit(f"tanh P ({ty})", tanh_p, 0, T**2, tanh_deg,
        lambda u, p: (mp.sqrt(u) * (1 + u * p) - mp.tanh(mp.sqrt(u))) / mp.tanh(mp.sqrt(u)) if u else 0)
    fit(f"log h ({ty})", log_h, 0, S**2, log_deg,
        lambda z, h: (mp.sqrt(z) * (2 + z * h) - 2 * mp.atanh(mp.sqrt(z))) / (2 * mp.atanh(mp.sqrt(z))) if z else 0)
