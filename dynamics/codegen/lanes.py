r"""The vectorised sigmoid written into every generated module.

Two or more sigmoids in one block of generated code are evaluated together as the lanes of
one loop that makes no libm call, so the compiler vectorises it. :data:`LANE_HELPERS_SOURCE`
is the source of that loop and of the work array it fills: text copied into every generated
module by :func:`dynamics.codegen.emit.generate_source`, and hashed into every module's key.
"""

from __future__ import annotations

__all__ = ["LANES", "MIN_LANE_SIGMOIDS", "LANE_HELPERS_SOURCE"]

#: Lanes of the vectorised sigmoid: a block of ``k`` sigmoids is padded to a multiple of 8
#: (one AVX-512 vector, two AVX2 vectors of doubles).
LANES = 8
#: The fewest sigmoids in one block worth evaluating as lanes (one stays a scalar call).
MIN_LANE_SIGMOIDS = 2

# Written into every generated module (so numba's cache of a module never outlives a change
# here). ``_lanes(n)`` is a work array of ``n`` doubles: in compiled code a pointer to stack
# memory (a heap array costs more than the sigmoids it serves, and a pointer needs no
# reference counting, so the RHS can be inlined into functions compiled without it), a numpy
# array when the source is interpreted (backend "python"). ``_sigmoid_lanes`` evaluates the logistic sigmoid of ``w[:n]`` in place
# with no libm call, so the loop vectorises: exp(-|x|) by Cody-Waite reduction to
# r in [-ln2/2, ln2/2], the degree-13 Taylor polynomial (truncation below 2e-16 there) in
# Estrin's scheme (depth 4 instead of 13: the RHS is on the critical path of every stage),
# and the power of two built from its bits. The relative error is within 3 units in the
# last place of the exact sigmoid (tests/unit/test_codegen.py). NaN
# propagates; below x = -744 the result is ~1e-323 instead of the exact < 1e-323.
LANE_HELPERS_SOURCE = '''
from llvmlite import ir as _ir
from numba import types as _types
from numba.core import cgutils as _cgutils
from numba.extending import intrinsic as _intrinsic
from numba.extending import overload as _overload


def _lanes(n):
    return np.zeros(n)


@_intrinsic
def _stack_f8(typingctx, n):
    if not isinstance(n, _types.IntegerLiteral):
        return None
    size = n.literal_value

    def codegen(context, builder, sig, args):
        return _cgutils.alloca_once(builder, _ir.DoubleType(), size=size)

    return _types.CPointer(_types.float64)(n), codegen


@_overload(_lanes, inline="always")
def _lanes_on_stack(n):
    if not isinstance(n, _types.IntegerLiteral):
        return None
    size = n.literal_value
    return lambda n: _stack_f8(size)


@_intrinsic
def _f8_from_bits(typingctx, b):
    if b != _types.int64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], _ir.DoubleType())

    return _types.float64(_types.int64), codegen


@numba.njit(["void(f8[::1], i8)", "void(CPointer(f8), i8)"], cache=True, error_model="numpy", fastmath={"contract"})
def _sigmoid_lanes(w, n):
    for i in range(n):
        x = w[i]
        z = -abs(x)
        z = z if z > -744.0 else -744.0
        kf = (z * 1.4426950408889634 + 6755399441055744.0) - 6755399441055744.0
        r = (z - kf * 6.93147180369123816490e-01) - kf * 1.90821492927058770002e-10
        r2 = r * r
        r4 = r2 * r2
        q = ((1.0 + r) + (0.5 + 0.16666666666666666 * r) * r2) + (
            (0.041666666666666664 + 0.008333333333333333 * r)
            + (0.001388888888888889 + 0.0001984126984126984 * r) * r2) * r4 + (
            ((2.48015873015873e-05 + 2.7557319223985893e-06 * r)
             + (2.755731922398589e-07 + 2.505210838544172e-08 * r) * r2)
            + (2.08767569878681e-09 + 1.6059043836821613e-10 * r) * r4) * (r4 * r4)
        k = np.int64(kf)
        k1 = k >> 1
        e = q * _f8_from_bits((k1 + 1023) << 52) * _f8_from_bits((k - k1 + 1023) << 52)
        s = 1.0 / (1.0 + e)
        v = s if x >= 0.0 else e * s
        w[i] = v if x == x else x
'''
