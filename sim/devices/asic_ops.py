"""Operation counts of the PIM-GPT ASIC's function units (closed forms, documented table).

PIM-GPT's ASIC computes the non-linear functions with adds and multiplies only (pim.md section 1.3):
``exp`` by a Taylor series, division by a Newton-Raphson reciprocal, LayerNorm's ``1/sqrt`` by the fast
inverse square root, GELU's ``tanh`` through ``exp`` and the reciprocal. This module counts, per
element and per row, the additions (adds, subtracts, compares, exponent-field integer ops) and
multiplications each function needs. Nothing here knows time or energy: :mod:`sim.devices.asic`
turns counts into cycles (lanes x clock) and joules (energy per add / multiply).

Series lengths and iteration counts are derived from the ASIC's number format, never typed in: the
smallest count whose truncation error is at most the format's unit roundoff ``u = 2**-(p+1)``, with
``p`` explicit mantissa bits (bf16: 7, so ``u = 2**-8``).

* ``exp`` (range reduction ``x = n ln2 + r``, ``r`` in ``[0, ln2)``): Taylor degree ``N`` is the
  smallest with ``ln2**(N+1) / (N+1)! <= u`` (bf16: 4).
* reciprocal: operand scaled into ``[0.5, 1)``, initial guess ``48/17 - 32/17 d`` (maximum relative
  error ``1/17``), each Newton step squares the error: iterations until ``e <= u`` (bf16: 1).
* inverse square root: magic-constant initial guess (maximum relative error 0.0342, Lomont, "Fast
  inverse square root", 2003), a Newton step maps ``e`` to ``1.5 e**2``: iterations until ``e <= u``
  (bf16: 1).

Counts (``E``, ``R``, ``S``: the exp, reciprocal and inverse-square-root counts; ``N`` the Taylor
degree, ``i`` the iterations):

================  ============================  ==============================  =========================
function          adds                          multiplies                      steps
================  ============================  ==============================  =========================
exp  (E)          N + 3                         N + 2                           t=x*log2e; n=floor(t);
                                                                                r=(t-n)*ln2; Horner(N);
                                                                                exponent += n
reciprocal (R)    4 + i                         1 + 2i                          exponent split (2);
                                                                                y0=48/17-32/17 d (1+1);
                                                                                y=y(2-dy) (2 mul, 1 add);
                                                                                exponent restore (1)
rsqrt (S)         2 + i                         1 + 3i                          i=magic-(i>>1) (2);
                                                                                h=x/2 (1 mul);
                                                                                y=y(1.5-h y^2) (3, 1)
tanh(u)           3 + E + R                     2 + E + R                       clamp (1); e=exp(2u)
                                                                                (1 mul); 1-2/(e+1)
                                                                                (2 add, 1 mul)
softmax, /elem    3 + E                         1 + E                           max, x-max, exp, sum,
                                                                                x * (1/sum)
softmax, /row     R                             R                               1/sum
layernorm, /elem  4                             3                               sum, x-mean, (.)^2, sum,
                                                                                *rstd, *gamma, +beta
layernorm, /row   1 + S                         2 + S                           /H twice, +eps, rsqrt
GELU (tanh form)  2 + tanh                      6 + tanh                        x^2, x^3, *0.044715,
                                                                                +x, *sqrt(2/pi), tanh,
                                                                                1+, *x, *0.5
residual / add    1                             0
partial sums      p - 1 (+1 with a bias)        0                               per output element
================  ============================  ==============================  =========================
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: explicit mantissa bits of the formats an ASIC can compute in
MANTISSA_BITS: dict[str, int] = {"bf16": 7, "fp16": 10, "fp32": 23}

#: maximum relative error of the magic-constant initial guess of the fast inverse square root (Lomont 2003)
RSQRT_SEED_ERROR = 0.0342
#: maximum relative error of the linear reciprocal seed 48/17 - 32/17 d on [0.5, 1)
RECIPROCAL_SEED_ERROR = 1.0 / 17.0


@dataclass(frozen=True)
class Ops:
    """A count of additions and multiplications."""

    add: float = 0.0
    mul: float = 0.0

    def __add__(self, other: Ops) -> Ops:
        return Ops(self.add + other.add, self.mul + other.mul)

    def scaled(self, k: float) -> Ops:
        """This count ``k`` times."""
        return Ops(self.add * k, self.mul * k)

    @property
    def total(self) -> float:
        """Adds plus multiplies."""
        return self.add + self.mul


def unit_roundoff(dtype: str) -> float:
    """``2**-(p+1)`` for a format with ``p`` explicit mantissa bits."""
    return 2.0 ** -(MANTISSA_BITS[dtype] + 1)


def exp_terms(dtype: str) -> int:
    """Smallest Taylor degree N with ``ln2**(N+1)/(N+1)! <= u`` (range-reduced exp)."""
    u = unit_roundoff(dtype)
    n = 1
    while math.log(2) ** (n + 1) / math.factorial(n + 1) > u:
        n += 1
    return n


def newton_iterations(seed_error: float, dtype: str, *, factor: float = 1.0) -> int:
    """Newton steps until the relative error ``e -> factor * e**2`` falls to the unit roundoff."""
    u = unit_roundoff(dtype)
    e, i = seed_error, 0
    while e > u:
        e = factor * e * e
        i += 1
    return i


@dataclass(frozen=True)
class FunctionCounts:
    """Per-element and per-row operation counts of every ASIC function, for one number format."""

    dtype: str
    exp_terms: int
    reciprocal_iterations: int
    rsqrt_iterations: int

    @classmethod
    def for_dtype(cls, dtype: str, *, exp_terms_: int | None = None, reciprocal_iterations: int | None = None,
                  rsqrt_iterations: int | None = None) -> FunctionCounts:
        """Counts for ``dtype``; the series length and iteration counts default to the derived ones."""
        return cls(
            dtype,
            exp_terms(dtype) if exp_terms_ is None else exp_terms_,
            newton_iterations(RECIPROCAL_SEED_ERROR, dtype) if reciprocal_iterations is None
            else reciprocal_iterations,
            newton_iterations(RSQRT_SEED_ERROR, dtype, factor=1.5) if rsqrt_iterations is None
            else rsqrt_iterations,
        )

    # ---------------------------------------------------------------- primitives
    @property
    def exp(self) -> Ops:
        """exp(x) with range reduction and a degree-N Taylor polynomial (Horner)."""
        n = self.exp_terms
        return Ops(n + 3, n + 2)

    @property
    def reciprocal(self) -> Ops:
        """1/d by Newton-Raphson from a linear seed."""
        i = self.reciprocal_iterations
        return Ops(4 + i, 1 + 2 * i)

    @property
    def rsqrt(self) -> Ops:
        """1/sqrt(x) by the magic-constant seed and Newton steps."""
        i = self.rsqrt_iterations
        return Ops(2 + i, 1 + 3 * i)

    @property
    def tanh(self) -> Ops:
        """tanh(u) = 1 - 2/(exp(2u) + 1), clamped for large |u|."""
        return Ops(3, 2) + self.exp + self.reciprocal

    # ---------------------------------------------------------------- functions of the trace's op kinds
    @property
    def softmax_element(self) -> Ops:
        """Softmax, per element of a row."""
        return Ops(3, 1) + self.exp

    @property
    def softmax_row(self) -> Ops:
        """Softmax, per row (the reciprocal of the sum)."""
        return self.reciprocal

    @property
    def layernorm_element(self) -> Ops:
        """LayerNorm, per element."""
        return Ops(4, 3)

    @property
    def layernorm_row(self) -> Ops:
        """LayerNorm, per row (mean and variance scaling, epsilon, inverse square root)."""
        return Ops(1, 2) + self.rsqrt

    @property
    def gelu_element(self) -> Ops:
        """GELU (tanh approximation, GPT-2's gelu_new), per element."""
        return Ops(2, 6) + self.tanh

    @staticmethod
    def partial_sums(outputs: int, partials: int, bias: bool) -> Ops:
        """Adding ``partials`` partial sums per output element (plus the bias), for ``outputs`` elements."""
        return Ops(outputs * (max(partials, 1) - 1 + (1 if bias else 0)), 0)


__all__ = ["FunctionCounts", "MANTISSA_BITS", "Ops", "exp_terms", "newton_iterations", "unit_roundoff"]
