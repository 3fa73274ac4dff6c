r"""The authors' Fig. 5 and Fig. 7 Transformers as numpy models with hand-written gradients
(spec 1.3 M-torch-aug and M-torch-non-aug; authors' code ``augmented.py``,
``non_augmented.py`` of ``michaelsdr/ical``), for the non-commuting Haar experiments.

Both follow the authors' PyTorch modules operation by operation; parameters keep the PyTorch
shapes (``nn.Linear(i, o)``: weight ``(o, i)``, bias ``(o,)``) and the PyTorch default
initialisation (weights and biases $U(-1/\sqrt{\rm fan_{in}}, 1/\sqrt{\rm fan_{in}})$,
LayerNorm weight 1 and bias 0, ``nn.Embedding`` $\mathcal N(0, 1)$). The loss is the authors'
``nn.MSELoss``: the mean over sequences, positions and coordinates.

* :class:`AugmentedTransformer` (Fig. 5, ``augmented.py``): tokens
  $e_t = (0_d, s_t, s_{t-1})$, $E = 3d$, one head of dimension $E$; per layer
  $x \leftarrow x + \mathrm{LN}(W_o\,a + b_o)$ with the causal *linear* attention
  $a_t = \sum_{t' \le t} \frac{q_t\cdot k_{t'}}{\sqrt E} v_{t'}$ ($q, k, v$ affine in $x$);
  the prediction of $s_{t+1}$ is the first $d$ outputs of the final ``Linear(E, 3d)``
  (only those rows are kept: the others never receive a gradient).
* :class:`NonAugmentedTransformer` (Fig. 7, ``non_augmented.py``): tokens $x_t = (s_t,
  s_t)$, $E = 2d$, $H$ heads of dimension $E$, one layer, no residual; head $h$ weighs key
  $t'$ by $\frac{q^h_t\cdot k^h_{t'}}{\sqrt E}\,\mathrm{softmax}_{t'\le t}
  \bigl(\frac{\tilde q^h_t\cdot\tilde k^h_{t'}}{\sqrt E}\bigr)$, the second factor from the
  same projections applied to a learned positional embedding $\pi_t$; values from tokens;
  heads summed, then ``fc_out``, LayerNorm and ``Linear(E, d)``.

Computation (ours, exact): the tokens $(s, s)$ enter the projections only through $W_{:, :d}
+ W_{:, d:}$ and the bias, so the token scores of head $h$ are $z_t^\top G_h z_{t'}$ with $z
= (s, 1)$ and $G_h = \tilde Q_h^\top\tilde K_h$, $\tilde Q_h = [W'_{Q,h}, b_{Q,h}]$; both
halves of a weight receive the same gradient, as in PyTorch. Long batches are processed in
chunks of sequences (memory), the shared positional softmax once.

Data: ``S`` of shape ``(N, n + 1, d)`` (real), position $t = 0..n-1$ predicts $s_{t+1}$.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from derivations.sander2024.data import SeqData, as_seqdata
from derivations.sander2024.direct_augmented import augment
from dynamics.validate import positive_int

__all__ = ["AugmentedTransformer", "NonAugmentedTransformer", "layer_norm", "layer_norm_back", "torch_linear_init"]

LN_EPS = 1e-5
"""``nn.LayerNorm``'s default epsilon."""


def torch_linear_init(rng: np.random.Generator, fan_out: int, fan_in: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's default ``nn.Linear`` initialisation: weight (fan_out, fan_in) and bias
    (fan_out,), i.i.d. uniform on $[-1/\\sqrt{\\rm fan_{in}}, 1/\\sqrt{\\rm fan_{in}}]$."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, (fan_out, fan_in)), rng.uniform(-bound, bound, fan_out)


def layer_norm(o: np.ndarray, g: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """``nn.LayerNorm`` over the last axis; returns the output and the cache (xhat, 1/std)."""
    mu = o.mean(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt(((o - mu) ** 2).mean(axis=-1, keepdims=True) + LN_EPS)
    xh = (o - mu) * inv
    return xh * g + b, (xh, inv)


def layer_norm_back(dy: np.ndarray, g: np.ndarray, cache: tuple[np.ndarray, np.ndarray]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`layer_norm`: (d input, d weight, d bias)."""
    xh, inv = cache
    dxh = dy * g
    do = inv * (dxh - dxh.mean(axis=-1, keepdims=True) - xh * (dxh * xh).mean(axis=-1, keepdims=True))
    E = dy.shape[-1]
    return do, np.sum((dy * xh).reshape(-1, E), axis=0), np.sum(dy.reshape(-1, E), axis=0)


def _data(data: Any, d: int) -> SeqData:
    data = as_seqdata(data, real=True)
    if data.d != d:
        raise ValueError(f"data has d = {data.d}, the model d = {d}")
    return data


def _check_params(params: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    out = {}
    for k, shape in shapes.items():
        if k not in params:
            raise ValueError(f"missing parameter {k!r}")
        a = np.asarray(params[k], dtype=float)
        if a.shape != shape:
            raise ValueError(f"parameter {k!r} must have shape {shape}, got {a.shape}")
        out[k] = a
    return out


# ---------------------------------------------------------------------- Fig. 5
@dataclass(frozen=True)
class AugmentedTransformer:
    """The authors' ``augmented.py`` Transformer (module docstring): ``L`` layers on
    augmented tokens, ``d`` the state dimension ($E = 3d$).

    Parameters per layer ``l``: ``Wq{l}, bq{l}, Wk{l}, bk{l}, Wv{l}, bv{l}, Wo{l}, bo{l}``
    (``(E, E)`` and ``(E,)``), ``g{l}, b{l}`` (LayerNorm, ``(E,)``); the head ``Wf``
    ``(d, E)``, ``bf`` ``(d,)``.
    """

    d: int = 5
    L: int = 1
    chunk: int = 512

    def __post_init__(self) -> None:
        positive_int("d", self.d)
        positive_int("L", self.L)
        positive_int("chunk", self.chunk)

    @property
    def E(self) -> int:
        """Embedding width $3d$."""
        return 3 * self.d

    @property
    def groups(self) -> dict[str, str]:
        """One learning-rate group for all parameters (the authors use one Adam)."""
        return {k: "default" for k in self.shapes}

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Parameter shapes."""
        E = self.E
        out: dict[str, tuple[int, ...]] = {}
        for l in range(self.L):
            for p in "qkvo":
                out[f"W{p}{l}"] = (E, E)
                out[f"b{p}{l}"] = (E,)
            out[f"g{l}"] = (E,)
            out[f"b{l}"] = (E,)
        out["Wf"], out["bf"] = (self.d, E), (self.d,)
        return out

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """PyTorch's default initialisation (module docstring), layer by layer."""
        E, p = self.E, {}
        for l in range(self.L):
            for name in "vkqo":  # the order the authors' module creates them: values, keys, queries, fc_out
                p[f"W{name}{l}"], p[f"b{name}{l}"] = torch_linear_init(rng, E, E)
            p[f"g{l}"], p[f"b{l}"] = np.ones(E), np.zeros(E)
        W, b = torch_linear_init(rng, E, E)
        p["Wf"], p["bf"] = W[: self.d], b[: self.d]
        return p

    def _forward(self, p: dict[str, np.ndarray], S: np.ndarray) -> tuple[np.ndarray, list[dict[str, Any]]]:
        n = S.shape[1] - 1
        X = augment(S)[:, :n].astype(float)  # (N, n, E)
        M = np.tril(np.ones((n, n))) / np.sqrt(self.E)  # (n, n)   causal mask and 1/sqrt(E)
        caches = []
        for l in range(self.L):
            q = X @ p[f"Wq{l}"].T + p[f"bq{l}"]  # (N, n, E)
            k = X @ p[f"Wk{l}"].T + p[f"bk{l}"]
            v = X @ p[f"Wv{l}"].T + p[f"bv{l}"]
            Sc = (q @ np.swapaxes(k, 1, 2)) * M  # (N, n, n)
            a = Sc @ v  # (N, n, E)
            y, ln = layer_norm(a @ p[f"Wo{l}"].T + p[f"bo{l}"], p[f"g{l}"], p[f"b{l}"])
            caches.append({"X": X, "q": q, "k": k, "v": v, "S": Sc, "a": a, "ln": ln})
            X = X + y
        return X, caches

    def predict(self, params: Mapping[str, Any], S: Any) -> np.ndarray:
        r"""Predictions of $s_{t+1}$, $t = 0..n-1$, shape (N, n, d)."""
        p = _check_params(params, self.shapes)
        S = _data(SeqData.uniform(np.asarray(S)), self.d).S
        return np.concatenate([self._forward(p, S[i: i + self.chunk])[0] @ p["Wf"].T + p["bf"]
                               for i in range(0, S.shape[0], self.chunk)])

    def loss_and_grad(self, params: Mapping[str, Any], data: Any) -> tuple[float, dict[str, np.ndarray]]:
        """The authors' MSE (weighted by ``data.weights``: the mean for uniform weights) and its
        gradient, back through every layer."""
        p = _check_params(params, self.shapes)
        data = _data(data, self.d)
        n, d = data.T, self.d
        M = np.tril(np.ones((n, n))) / np.sqrt(self.E)
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        loss = 0.0
        for i in range(0, data.N, self.chunk):
            S, w = data.S[i: i + self.chunk], data.weights[i: i + self.chunk]
            X, caches = self._forward(p, S)
            r = X @ p["Wf"].T + p["bf"] - S[:, 1:]  # (N, n, d)
            loss += float(w @ np.sum(r**2, axis=(1, 2))) / (n * d)
            dZ = 2.0 * r * w[:, None, None] / (n * d)  # (N, n, d)
            grads["Wf"] += dZ.reshape(-1, d).T @ X.reshape(-1, self.E)
            grads["bf"] += dZ.reshape(-1, d).sum(axis=0)
            dX = dZ @ p["Wf"]  # (N, n, E)
            for l in range(self.L - 1, -1, -1):
                c = caches[l]
                do, dg, db = layer_norm_back(dX, p[f"g{l}"], c["ln"])
                grads[f"g{l}"] += dg
                grads[f"b{l}"] += db
                grads[f"Wo{l}"] += do.reshape(-1, self.E).T @ c["a"].reshape(-1, self.E)
                grads[f"bo{l}"] += do.reshape(-1, self.E).sum(axis=0)
                da = do @ p[f"Wo{l}"]
                dS = (da @ np.swapaxes(c["v"], 1, 2)) * M  # (N, n, n)
                dv = np.swapaxes(c["S"], 1, 2) @ da
                dq = dS @ c["k"]
                dk = np.swapaxes(dS, 1, 2) @ c["q"]
                Xf = c["X"].reshape(-1, self.E)
                for name, dd in (("q", dq), ("k", dk), ("v", dv)):
                    grads[f"W{name}{l}"] += dd.reshape(-1, self.E).T @ Xf
                    grads[f"b{name}{l}"] += dd.reshape(-1, self.E).sum(axis=0)
                    dX = dX + dd @ p[f"W{name}{l}"]
        return loss, grads

    def reduce(self, params: Mapping[str, Any]) -> dict[str, float]:
        """Frobenius norms of every parameter (no known reduced coordinates for Haar W)."""
        return {f"{k}_norm": float(np.linalg.norm(v)) for k, v in params.items()}


# ---------------------------------------------------------------------- Fig. 7
@dataclass(frozen=True)
class NonAugmentedTransformer:
    """The authors' ``non_augmented.py`` Transformer (module docstring): ``H`` heads,
    ``d`` the state dimension, ``embed_extension`` copies of each token ($E = 2d$ by
    default), a positional embedding of ``max_length`` rows.

    Parameters: ``Wq, Wk, Wv`` ``(H E, E)`` and ``bq, bk, bv`` ``(H E,)``; ``Wo`` ``(E, E)``,
    ``bo``; LayerNorm ``g, b``; head ``Wf`` ``(d, E)``, ``bf``; ``pos`` ``(max_length, E)``.
    """

    d: int = 5
    H: int = 64
    embed_extension: int = 2
    max_length: int = 100
    chunk: int = 128

    def __post_init__(self) -> None:
        for name in ("d", "H", "embed_extension", "max_length", "chunk"):
            positive_int(name, getattr(self, name))

    @property
    def E(self) -> int:
        """Embedding width ``embed_extension * d``."""
        return self.embed_extension * self.d

    @property
    def groups(self) -> dict[str, str]:
        """One learning-rate group for all parameters."""
        return {k: "default" for k in self.shapes}

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Parameter shapes."""
        E, HE, d = self.E, self.H * self.E, self.d
        return {"Wv": (HE, E), "bv": (HE,), "Wk": (HE, E), "bk": (HE,), "Wq": (HE, E), "bq": (HE,),
                "Wo": (E, E), "bo": (E,), "g": (E,), "b": (E,), "Wf": (d, E), "bf": (d,),
                "pos": (self.max_length, E)}

    def init(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """PyTorch's default initialisation (module docstring)."""
        E, HE = self.E, self.H * self.E
        p: dict[str, np.ndarray] = {}
        for name in "vkq":
            p[f"W{name}"], p[f"b{name}"] = torch_linear_init(rng, HE, E)
        p["Wo"], p["bo"] = torch_linear_init(rng, E, E)
        p["g"], p["b"] = np.ones(E), np.zeros(E)
        p["pos"] = rng.standard_normal((self.max_length, E))
        p["Wf"], p["bf"] = torch_linear_init(rng, self.d, E)
        return p

    def _tilde(self, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        """$[W', b]$ per head, (H, E, d+1), with $W' = \\sum$ of the ``embed_extension`` blocks."""
        d, E = self.d, self.E
        Wp = W.reshape(self.H * E, self.embed_extension, d).sum(axis=1)  # (H E, d)
        return np.concatenate([Wp, b[:, None]], axis=1).reshape(self.H, E, d + 1)

    def _pos(self, p: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
        E, H = self.E, self.H
        Pi = p["pos"][:n]  # (n, E)
        qp = (Pi @ p["Wq"].T + p["bq"]).reshape(n, H, E)  # (n, H, E)
        kp = (Pi @ p["Wk"].T + p["bk"]).reshape(n, H, E)
        Sp = np.einsum("qhe,lhe->hql", qp, kp) / np.sqrt(E)  # (H, n, n)
        Sp = np.where(np.tril(np.ones((n, n), bool)), Sp, -np.inf)
        Sp = Sp - Sp.max(axis=2, keepdims=True)
        A = np.exp(Sp)
        return {"Pi": Pi, "qp": qp, "kp": kp, "A": A / A.sum(axis=2, keepdims=True)}

    def _tokens(self, p: dict[str, np.ndarray], S: np.ndarray, Apos: np.ndarray) -> dict[str, Any]:
        N, n, d, H, E = S.shape[0], S.shape[1] - 1, self.d, self.H, self.E
        Z = np.concatenate([S[:, :n], np.ones((N, n, 1))], axis=2)  # (N, n, d+1)
        G = np.swapaxes(self._tilde(p["Wq"], p["bq"]), 1, 2) @ self._tilde(p["Wk"], p["bk"])  # (H, d+1, d+1)
        Garr = np.swapaxes(G, 0, 1).reshape(d + 1, H * (d + 1))  # (d+1, H (d+1))
        U = np.swapaxes((Z.reshape(N * n, d + 1) @ Garr).reshape(N, n, H, d + 1), 1, 2)  # (N, H, n, d+1)
        mask = np.tril(np.ones((n, n))) / np.sqrt(E)
        St = (np.ascontiguousarray(U).reshape(N, H * n, d + 1) @ np.swapaxes(Z, 1, 2)).reshape(N, H, n, n) * mask
        Att = St * Apos[None]
        Y = (Att.reshape(N, H * n, n) @ Z).reshape(N, H, n, d + 1)  # (N, H, n, d+1)
        Yf = np.swapaxes(Y, 1, 2).reshape(N * n, H * (d + 1))  # (N n, H (d+1))
        Vt = np.swapaxes(self._tilde(p["Wv"], p["bv"]), 1, 2).reshape(H * (d + 1), E)  # (H (d+1), E)
        out = Yf @ Vt  # (N n, E)
        y, ln = layer_norm(out @ p["Wo"].T + p["bo"], p["g"], p["b"])
        return {"Z": Z, "St": St, "Yf": Yf, "Vt": Vt, "out": out, "y": y, "ln": ln, "mask": mask}

    def predict(self, params: Mapping[str, Any], S: Any) -> np.ndarray:
        r"""Predictions of $s_{t+1}$, $t = 0..n-1$, shape (N, n, d)."""
        p = _check_params(params, self.shapes)
        S = _data(SeqData.uniform(np.asarray(S)), self.d).S
        n = S.shape[1] - 1
        if n > self.max_length:
            raise ValueError(f"sequences of {n} positions exceed max_length = {self.max_length}")
        Apos = self._pos(p, n)["A"]
        outs = []
        for i in range(0, S.shape[0], self.chunk):
            c = self._tokens(p, S[i: i + self.chunk], Apos)
            outs.append((c["y"] @ p["Wf"].T + p["bf"]).reshape(-1, n, self.d))
        return np.concatenate(outs)

    def loss_and_grad(self, params: Mapping[str, Any], data: Any) -> tuple[float, dict[str, np.ndarray]]:
        """The authors' MSE (weighted by ``data.weights``) and its gradient."""
        p = _check_params(params, self.shapes)
        data = _data(data, self.d)
        n, d, H, E, ext = data.T, self.d, self.H, self.E, self.embed_extension
        if n > self.max_length:
            raise ValueError(f"sequences of {n} positions exceed max_length = {self.max_length}")
        pos = self._pos(p, n)
        Apos = pos["A"]
        g = {k: np.zeros_like(v) for k, v in p.items()}
        dApos = np.zeros_like(Apos)
        dG = np.zeros((H, d + 1, d + 1))
        dVt = np.zeros((H * (d + 1), E))
        loss = 0.0
        for i in range(0, data.N, self.chunk):
            S, w = data.S[i: i + self.chunk], data.weights[i: i + self.chunk]
            N = S.shape[0]
            c = self._tokens(p, S, Apos)
            r = (c["y"] @ p["Wf"].T + p["bf"]).reshape(N, n, d) - S[:, 1:]
            loss += float(w @ np.sum(r**2, axis=(1, 2))) / (n * d)
            dZo = (2.0 * r * w[:, None, None] / (n * d)).reshape(N * n, d)
            g["Wf"] += dZo.T @ c["y"]
            g["bf"] += dZo.sum(axis=0)
            do, dg_, db_ = layer_norm_back(dZo @ p["Wf"], p["g"], c["ln"])
            g["g"] += dg_
            g["b"] += db_
            g["Wo"] += do.T @ c["out"]
            g["bo"] += do.sum(axis=0)
            dout = do @ p["Wo"]  # (N n, E)
            dVt += c["Yf"].T @ dout
            dY = np.swapaxes((dout @ c["Vt"].T).reshape(N, n, H, d + 1), 1, 2)  # (N, H, n, d+1)
            Z = c["Z"]
            dAtt = (dY.reshape(N, H * n, d + 1) @ np.swapaxes(Z, 1, 2)).reshape(N, H, n, n)
            dApos += np.sum(dAtt * c["St"], axis=0)
            dU = ((dAtt * Apos[None] * c["mask"]).reshape(N, H * n, n) @ Z)  # (N, H n, d+1)
            dUt = np.swapaxes(dU.reshape(N, H, n, d + 1), 1, 2).reshape(N * n, H * (d + 1))
            dG += np.swapaxes((Z.reshape(N * n, d + 1).T @ dUt).reshape(d + 1, H, d + 1), 0, 1)
        # token projections: G_h = Qt_h^T Kt_h, values Vt; each of the ext blocks gets the same gradient
        Qt, Kt = self._tilde(p["Wq"], p["bq"]), self._tilde(p["Wk"], p["bk"])
        dQt = Kt @ np.swapaxes(dG, 1, 2)  # (H, E, d+1)
        dKt = Qt @ dG
        dVtil = np.swapaxes(dVt.reshape(H, d + 1, E), 1, 2)  # (H, E, d+1)
        for name, dT in (("q", dQt), ("k", dKt), ("v", dVtil)):
            dW = dT[:, :, :d].reshape(H * E, d)
            g[f"W{name}"] += np.tile(dW, (1, ext))
            g[f"b{name}"] += dT[:, :, d].reshape(H * E)
        # positional softmax, shared by every sequence
        dSp = Apos * (dApos - np.sum(Apos * dApos, axis=2, keepdims=True)) / np.sqrt(E)  # (H, n, n)
        dqp = np.einsum("hql,lhe->qhe", dSp, pos["kp"]).reshape(n, H * E)
        dkp = np.einsum("hql,qhe->lhe", dSp, pos["qp"]).reshape(n, H * E)
        g["Wq"] += dqp.T @ pos["Pi"]
        g["bq"] += dqp.sum(axis=0)
        g["Wk"] += dkp.T @ pos["Pi"]
        g["bk"] += dkp.sum(axis=0)
        g["pos"][:n] += dqp @ p["Wq"] + dkp @ p["Wk"]
        return loss, g

    def reduce(self, params: Mapping[str, Any]) -> dict[str, float]:
        """Frobenius norms of every parameter."""
        return {f"{k}_norm": float(np.linalg.norm(v)) for k, v in params.items()}
