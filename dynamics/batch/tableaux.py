r"""The coefficient tables of the batch solver's methods, as frozen values.

:class:`RosenbrockTableau` holds an s-stage Rosenbrock method in the transformed form of
Hairer & Wanner (*Solving ODEs II*, section VI.4), the form ``rodas.f`` and
OrdinaryDiffEq.jl use: with ``E = I/(h gamma) - J``, the stages are

.. math:: k_i = E^{-1}\Big(f(u_i) + \sum_{j<i} \frac{C_{ij}}{h} k_j\Big),

where ``u_i = y + sum_j a_ij k_j`` for the first ``n_arg`` stages and ``u_i = u_{i-1} +
k_{i-1}`` after them (stiffly accurate methods: the last two or three arguments are the
previous argument plus the previous stage); ``y_new = u_s + k_s`` and ``k_s`` is the error
estimate. :data:`RODAS4` (Hairer & Wanner, the coefficients of ``rodas.f``) and
:data:`RODAS5P` (Steinebach 2023, OrdinaryDiffEq.jl's ``Rodas5PTableau``) are the two
instances; one stage loop (:mod:`dynamics.batch.rosenbrock`) runs both.

:data:`DOP853` holds Dormand-Prince 8(5,3) as scipy's ``solve_ivp`` uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RosenbrockTableau", "RODAS4", "RODAS5P", "DOP853Tableau", "DOP853"]


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=float)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class RosenbrockTableau:
    """An s-stage Rosenbrock method (see the module docstring for the stage equations).

    Attributes
    ----------
    name : str
    gamma : float
        The diagonal coefficient: the Newton matrix is ``I/(h gamma) - J``.
    a : ndarray (s, s)
        Stage-argument coefficients; rows ``1..n_arg-1`` are used.
    c : ndarray (s, s)
        Stage-correction coefficients ``C_ij`` (strictly lower triangular).
    n_arg : int
        Stages ``1..n_arg-1`` take ``y + sum_j a_ij k_j``; later ones add the previous stage.
    order : int
        Order of ``y_new``; the error estimate is of order ``order - 1`` and the step-size
        controller uses the exponent ``1/order``.
    dense : ndarray (3, s) or None
        Rows of the dense-output combinations of the stages (Rodas5P's 4th-order
        interpolant); ``None``: the cubic Hermite interpolant is used.
    """

    name: str
    gamma: float
    a: np.ndarray
    c: np.ndarray
    n_arg: int
    order: int
    dense: np.ndarray | None = None

    def __post_init__(self) -> None:
        s = self.stages
        if self.a.shape != (s, s) or self.c.shape != (s, s):
            raise ValueError(f"{self.name}: a and c must be ({s}, {s})")
        if not 1 <= self.n_arg <= s:
            raise ValueError(f"{self.name}: n_arg must be in [1, {s}]")
        object.__setattr__(self, "a", _frozen(self.a))
        object.__setattr__(self, "c", _frozen(self.c))
        if self.dense is not None:
            object.__setattr__(self, "dense", _frozen(self.dense))

    @property
    def stages(self) -> int:
        return int(np.asarray(self.a).shape[0])


def _rodas4() -> RosenbrockTableau:
    a = np.zeros((6, 6))
    a[1, :1] = [1.544]
    a[2, :2] = [0.9466785280815826, 0.2557011698983284]
    a[3, :3] = [3.314825187068521, 2.896124015972201, 0.9986419139977817]
    a[4, :4] = [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.6878860361058950]
    c = np.zeros((6, 6))
    c[1, :1] = [-5.6688]
    c[2, :2] = [-2.430093356833875, -0.2063599157091915]
    c[3, :3] = [-0.1073529058151375, -9.594562251023355, -20.47028614809616]
    c[4, :4] = [7.496443313967647, -10.24680431464352, -33.99990352819905, 11.70890893206160]
    c[5, :5] = [
        8.083246795921522,
        -7.981132988064893,
        -31.52159432874371,
        16.31930543123136,
        -6.058818238834054,
    ]
    return RosenbrockTableau("rodas4", 0.25, a, c, n_arg=5, order=4)


def _rodas5p() -> RosenbrockTableau:
    a = np.zeros((8, 8))
    a[1, :1] = [3.0]
    a[2, :2] = [2.849394379747939, 0.45842242204463923]
    a[3, :3] = [-6.954028509809101, 2.489845061869568, -10.358996098473584]
    a[4, :4] = [2.8029986275628964, 0.5072464736228206, -0.3988312541770524, -0.04721187230404641]
    a[5, :5] = [
        -7.502846399306121,
        2.561846144803919,
        -11.627539656261098,
        -0.18268767659942256,
        0.030198172008377946,
    ]
    c = np.zeros((8, 8))
    c[1, :1] = [-14.155112264123755]
    c[2, :2] = [-17.97296035885952, -2.859693295451294]
    c[3, :3] = [147.12150275711716, -1.41221402718213, 71.68940251302358]
    c[4, :4] = [165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306]
    c[5, :5] = [
        24.854864614690072,
        -3.0009227002832186,
        47.4931110020768,
        5.5814197821558125,
        -0.6610691825249471,
    ]
    c[6, :6] = [
        30.91273214028599,
        -3.1208243349937974,
        77.79954646070892,
        34.28646028294783,
        -19.097331116725623,
        -28.087943162872662,
    ]
    c[7, :7] = [
        37.80277123390563,
        -3.2571969029072276,
        112.26918849496327,
        66.9347231244047,
        -40.06618937091002,
        -54.66780262877968,
        -9.48861652309627,
    ]
    dense = np.array(
        [
            [25.948786856663858, -2.5579724845846235, 10.433815404888879, -2.3679251022685204,
             0.524948541321073, 1.1241088310450404, 0.4272876194431874, -0.17202221070155493],
            [-9.91568850695171, -0.9689944594115154, 3.0438037242978453, -24.495224566215796,
             20.176138334709044, 15.98066361424651, -6.789040303419874, -6.710236069923372],
            [11.419903575922262, 2.8879645146136994, 72.92137995996029, 80.12511834622643,
             -52.072871366152654, -59.78993625266729, -0.15582684282751913, 4.883087185713722],
        ]
    )
    return RosenbrockTableau("rodas5p", 0.21193756319429014, a, c, n_arg=6, order=5, dense=dense)


#: RODAS4: 6 stages, order 4(3), L-stable, stiffly accurate; Hermite dense output.
RODAS4 = _rodas4()
#: Rodas5P: 8 stages, order 5(4), L-stable, stiffly accurate; its own 4th-order dense output.
RODAS5P = _rodas5p()


@dataclass(frozen=True, eq=False)
class DOP853Tableau:
    """Dormand-Prince 8(5,3): ``a`` (16 x 16, rows 13-15 the dense-output stages), weights
    ``b`` (12), nodes ``c`` (16), error weights ``e3``/``e5`` (13) and the dense-output
    rows ``d`` (4 x 16)."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    e3: np.ndarray
    e5: np.ndarray
    d: np.ndarray

    def __post_init__(self) -> None:
        for name in ("a", "b", "c", "e3", "e5", "d"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))


def _dop853() -> DOP853Tableau:
    from scipy.integrate._ivp import dop853_coefficients as d

    return DOP853Tableau(d.A, d.B, d.C, d.E3, d.E5, d.D)


#: DOP853 as scipy's ``solve_ivp`` uses it (Hairer, Norsett & Wanner).
DOP853 = _dop853()
