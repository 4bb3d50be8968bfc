"""scikit-learn estimators: certified two-layer ReLU networks behind fit/predict/score.

``ConvexReLUClassifier`` regresses one-hot targets with the NN-TRAIN objective (SPEC §1) and
predicts the argmax; ``ConvexReLURegressor`` fits real targets. With ``method='sdp'`` every fit
also solves SDP-NN, so ``certificate_`` holds a certified lower bound on the global optimum,
the fitted network's objective and their relative gap.
"""

from __future__ import annotations

import hashlib

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .pipeline import METHODS, fit
from .errors import DataError, ParameterError


class _ConvexReLUBase(BaseEstimator):
    def __init__(self, reg=0.1, method="sdp", bias=True, standardize=True, solver="auto",
                 tol=1e-4, time_limit=60.0, max_iter=None, width=50, restarts=3, train_iter=3000, random_state=0,
                 n_gates=100, mode="nuclear", decomposition="min-norm", protocol="tuned", certify="auto",
                 dual_bound=False, warm_start=False):
        self.reg = reg
        self.method = method
        self.bias = bias
        self.standardize = standardize
        self.solver = solver
        self.tol = tol
        self.time_limit = time_limit
        self.max_iter = max_iter
        self.width = width
        self.restarts = restarts
        self.train_iter = train_iter
        self.random_state = random_state
        self.n_gates = n_gates
        self.mode = mode
        self.decomposition = decomposition
        self.protocol = protocol
        self.certify = certify
        self.dual_bound = dual_bound
        self.warm_start = warm_start

    def _check_params(self):
        if self.method not in METHODS:
            raise ParameterError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}.")
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise ParameterError(f"warm_start must be True or False; got {self.warm_start!r}.")

    def _fit_targets(self, X, Y):
        self._check_params()
        if self.standardize:
            self.mean_ = X.mean(axis=0)
            scale = X.std(axis=0)
            self.scale_ = np.where(scale > 0, scale, 1.0)
        else:
            self.mean_ = np.zeros(X.shape[1])
            self.scale_ = np.ones(X.shape[1])
        Xs = (X - self.mean_) / self.scale_
        # a warm start needs the previous fit's SDP solution of the same design (any reg)
        key = (hashlib.sha256(np.ascontiguousarray(Xs).tobytes()).hexdigest(), Xs.shape, Y.shape[1],
               bool(self.bias))
        previous = getattr(self, "fit_result_", None)
        warm = previous if self.warm_start and previous is not None and getattr(self, "_design_key", None) == key \
            else None
        res = fit(Xs, Y, self.reg, bias=self.bias, method=self.method, solver=self.solver, warm_start=warm,
                  tol=self.tol, time_limit=self.time_limit, max_iter=self.max_iter, width=self.width,
                  restarts=self.restarts, train_iter=self.train_iter, seed=self.random_state,
                  n_gates=self.n_gates, mode=self.mode, decomposition=self.decomposition,
                  protocol=self.protocol, certify=self.certify, dual_bound=self.dual_bound)
        self.network_ = res.network  # None for the kernel methods 'nngp' and 'ntk'
        self.certificate_ = res.certificate
        self.fit_result_ = res
        self._design_key = key
        self._target_key = hashlib.sha256(np.ascontiguousarray(Y).tobytes()).hexdigest()
        self.objective_ = res.certificate.upper
        self.lower_bound_ = res.certificate.lower
        main = res.stages.get(self.method) or res.stages.get("sdp") or res.stages.get("train")
        self.n_iter_ = max(1, main.iterations if main is not None else 1)
        return self

    def _targets(self, y):
        """Y as fitted from labels/targets y (one-hot for a classifier)."""
        raise NotImplementedError

    def save_certificate(self, path, X, y):
        """Write the certificate of this fit (``.npz``, no pickle; :mod:`convexnn.verify`) for its
        training data ``X``, ``y`` — the ones passed to :meth:`fit`, which the file must hold since
        the bound is a statement about them — so that ``convexnn verify PATH`` (or
        :func:`convexnn.verify.verify_certificate`) can check it independently. Returns the path.
        The file holds the design matrix as solved: standardised features and the ones column."""
        from .verify import certifiable, save_certificate

        check_is_fitted(self, "fit_result_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Xs = (X - self.mean_) / self.scale_
        Y = self._targets(y)
        key = (hashlib.sha256(np.ascontiguousarray(Xs).tobytes()).hexdigest(), Xs.shape, Y.shape[1], bool(self.bias))
        if key != self._design_key or hashlib.sha256(np.ascontiguousarray(Y).tobytes()).hexdigest() != self._target_key:
            raise DataError("save_certificate needs the training data this estimator was fitted on (X and y as "
                            "passed to fit): the certified bound is a statement about them.")
        res = self.fit_result_
        sdp, dual = certifiable(res.stages.get("sdp")), certifiable(res.stages.get("dual"))
        if sdp is None and dual is None:
            raise DataError(f"this fit (method {self.method!r}) has no certified bound with a dual certificate "
                            "(no SDP-NN or atomic-dual stage ran or finished); fit with certify=True or "
                            "dual_bound=True for one.")
        design = np.hstack([Xs, np.ones((Xs.shape[0], 1))]) if self.bias else Xs
        return save_certificate(path, design, Y, self.reg, sdp=sdp, atomic=dual, network=self.network_,
                                meta={"network_objective": self.objective_, "estimator": type(self).__name__,
                                      "bias": bool(self.bias)})

    def _scores(self, X):
        check_is_fitted(self, "fit_result_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.fit_result_.predict((X - self.mean_) / self.scale_)


class ConvexReLUClassifier(ClassifierMixin, _ConvexReLUBase):
    """Two-layer ReLU classifier trained on one-hot targets, with a certified optimality gap.

    Parameters: ``reg`` weight decay γ; ``method`` one of :data:`convexnn.pipeline.METHODS`:
    'sdp' (certified, default), 'lbfgs', 'sgd', 'crelu', 'gated', 'kim-pilanci', 'exact' (small d),
    'sahiner-fw', 'sahiner-cop', 'nngp', 'ntk' (kernels: no network); ``bias`` first-
    layer bias via a ones column; ``standardize`` features (statistics of the training data);
    ``solver`` SDP back-end ('auto': the interior point for q = n + d + c ≤ 90, from q = 60
    on after a first try with the active-set interior point; else the ADMM or ipm-active; under
    a ``time_limit`` the choice also depends on the measured speed); ``tol``,
    ``time_limit``, ``max_iter`` of the SDP solve (the rounding gets a quarter of the time limit
    and the L-BFGS training half of it; fits are reproducible only when the iteration cap, not the
    time limit, stops them); ``width``, ``restarts``, ``train_iter`` of
    the L-BFGS-trained networks; ``random_state`` seed; ``n_gates``, ``mode``, ``decomposition``
    of the arrangement methods; ``protocol`` ('paper'|'tuned') of 'sgd'; ``certify`` ('auto':
    add the SDP-NN bound when the method has no certified bound of its own; True; False);
    ``dual_bound`` (False by default here, so that fits inside pipelines and grid searches stay
    short; 'auto' or True add the atomic-norm dual bound of :func:`convexnn.pipeline.fit`, up to
    30 s per fit); ``warm_start`` (scikit-learn's meaning): when True, a refit on the same
    training data — typically with another ``reg``, along a path — starts the SDP solver from the
    previous fit's solution (a different design starts cold).

    Attributes: ``classes_``, ``network_`` (ReLUNetwork on standardised inputs; None for kernel
    methods), ``n_iter_`` (iterations of the method's main solver),
    ``certificate_`` (lower bound, objective, gap), ``objective_``, ``lower_bound_``.
    """

    def fit(self, X, y):
        """Fit on features X (n×d) and class labels y (n,); needs at least two classes."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, idx = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise ValueError("ConvexReLUClassifier needs samples of at least 2 classes; got 1 class.")
        Y = np.eye(self.classes_.size)[idx]
        return self._fit_targets(X, Y)

    def _targets(self, y):
        y = np.asarray(y)
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, self.classes_.size - 1)
        if y.ndim != 1 or np.any(self.classes_[idx] != y):
            raise DataError("y holds labels the classifier was not fitted on (or is not 1-D).")
        return np.eye(self.classes_.size)[idx]

    def decision_function(self, X):
        """Network outputs, one column per class (a regression onto the one-hot targets)."""
        S = self._scores(X)
        return S[:, 1] - S[:, 0] if S.shape[1] == 2 else S

    def predict(self, X):
        """Class with the largest network output (argmax, never a test-tuned threshold)."""
        S = self._scores(X)
        return self.classes_[S.argmax(axis=1)]

    def predict_proba(self, X):
        """Softmax of the network outputs: ordered like the scores, summing to one, but NOT
        calibrated probabilities (the network is trained by squared loss on one-hot targets)."""
        S = self._scores(X)
        S = S - S.max(axis=1, keepdims=True)
        E = np.exp(S)
        return E / E.sum(axis=1, keepdims=True)


class ConvexReLURegressor(RegressorMixin, _ConvexReLUBase):
    """Two-layer ReLU regressor (single or multiple outputs) with a certified optimality gap.

    Same parameters and attributes as :class:`ConvexReLUClassifier` (no ``classes_``). Targets are
    used as given (not standardised), so the objective is on their scale; NN-TRAIN has no output
    bias and its weight decay is not scale-free, so for targets far from unit scale wrap it in
    ``sklearn.compose.TransformedTargetRegressor(regressor, transformer=StandardScaler())``, as
    the CLI's ``--standardize-target`` does.
    """

    def fit(self, X, y):
        """Fit on features X (n×d) and real targets y, shape (n,) or (n, c)."""
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True, y_numeric=True)
        self._y_1d = y.ndim == 1
        Y = y[:, None] if y.ndim == 1 else y
        return self._fit_targets(X, Y)

    def _targets(self, y):
        y = np.asarray(y, dtype=np.float64)
        return y[:, None] if y.ndim == 1 else y

    def predict(self, X):
        """Network outputs; shape (n,) when fitted on 1-D targets."""
        P = self._scores(X)
        return P[:, 0] if self._y_1d else P

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
