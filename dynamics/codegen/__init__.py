r"""Code generation: sympy -> readable Python source -> numba, cached on disk.

For a :class:`~dynamics.model.ReducedModel`, :func:`generate_source` writes one Python
module with four functions sharing one calling convention::

    rhs(t, y, p, data, bounds, out)        # out (n,)      : dtheta/dt
    jac(t, y, p, data, bounds, out)        # out (n, n)    : d rhs_i / d y_j
    obs(y, p, data, bounds, out)           # out (n_obs,)  : observables, loss first
    obs_batch(Y, p, data, bounds, out)     # Y (T, n), out (T, n_obs)

``p`` is the parameter vector followed by one learning-rate factor per group (see
:meth:`CompiledModel.pack`). ``data`` stacks the numeric tables of every
:class:`~dynamics.model.RowSum` (rows of table ``k`` are ``data[bounds[k]:bounds[k+1]]``);
generated code loops over them.

Extreme values: state coordinates that enter as softmax logits (``exp(state)`` terms of one
sum) are evaluated shifted by their maximum in every block of code whose expressions are
unchanged by a common shift of them (checked numerically per block and per table row at
build time), ``log`` of a sum of exponentials is printed with the max shift, and
``sigmoid' = sigmoid(x) sigmoid(-x)``: the RHS and the Jacobian stay exact to rounding for
logits of 700 and more (tests/unit/test_codegen.py, tests/faults/test_codegen.py).

Backends: ``"numba"`` (default), ``"python"`` (the same generated source, interpreted:
for debugging) and ``"numpy"`` (an independent path through ``sympy.lambdify`` evaluated
with numpy, vectorised over table rows: for checking the generated code, and the
baseline of the benchmarks).

One concept per module:

- :mod:`~dynamics.codegen.emit`: sympy -> source text (:func:`generate_source`,
  :data:`CODEGEN_VERSION`);
- :mod:`~dynamics.codegen.shift`: which blocks are evaluated at max-shifted softmax logits;
- :mod:`~dynamics.codegen.lanes`: the vectorised sigmoid written into every module;
- :mod:`~dynamics.codegen.tables`: the order and packing of the RowSum tables;
- :mod:`~dynamics.codegen.cache`: the content-hash cache directory and its fault recovery
  (:func:`model_key`, :func:`cache_dir`, :func:`load_module`, :class:`CacheError`);
- :mod:`~dynamics.codegen.numpy_backend`: the independent numpy evaluation;
- :mod:`~dynamics.codegen.compiled`: :class:`CompiledModel` and :func:`compile_model`.
"""

from __future__ import annotations

from dynamics.codegen.cache import CacheError, cache_dir, load_module, model_key
from dynamics.codegen.compiled import Backend as Backend
from dynamics.codegen.compiled import CompiledModel, compile_model
from dynamics.codegen.emit import CODEGEN_VERSION as CODEGEN_VERSION
from dynamics.codegen.emit import generate_source
from dynamics.codegen.lanes import LANE_HELPERS_SOURCE as LANE_HELPERS_SOURCE
from dynamics.codegen.lanes import LANES as LANES
from dynamics.codegen.lanes import MIN_LANE_SIGMOIDS as MIN_LANE_SIGMOIDS

__all__ = ["CacheError", "CompiledModel", "compile_model", "generate_source", "cache_dir", "model_key",
           "load_module"]
