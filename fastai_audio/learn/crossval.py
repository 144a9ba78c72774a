"""Cross-validation: train one fresh learner per fold and report each metric as mean ± standard deviation,
as benchmarks with predefined folds (ESC-50, UrbanSound8K) require."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from fastai.torch_core import set_seed

from .learner import audio_learner, check_learner_kwargs

__all__ = ['CrossValidation', 'cross_validate']


@dataclass
class CrossValidation:
    """Results of `cross_validate`, one score per fold and metric.

    `df` gives one row per fold, `mean` and `std` (the sample standard deviation over folds, ddof=1; 0 for a
    single fold) one value per metric, and `summary()` a 'mean ± std' line per metric (also its repr).

    Parameters
    ----------
    scores : dict
        {fold: {metric name: value}} (default: empty, filled by `cross_validate`).
    """
    scores: dict = field(default_factory=dict)

    @property
    def df(self):
        "One row per fold, one column per metric."
        import pandas as pd
        return pd.DataFrame.from_dict(self.scores, orient='index').rename_axis('fold')

    @property
    def mean(self) -> dict: return self.df.mean().to_dict()

    @property
    def std(self) -> dict:
        return {k: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for k, v in self.df.items()}

    def summary(self) -> str:
        n = len(self.scores)
        return '\n'.join(f'{k}: {self.mean[k]:.4f} ± {self.std[k]:.4f} over {n} folds' for k in self.df.columns)

    def __repr__(self): return self.summary()


def cross_validate(dls_for_fold, arch, *, folds=(1, 2, 3, 4, 5), epochs: int = 5, lr: float = 1e-3,
                   fine_tune: bool | None = None, seed: int | None = 0, cbs=None, show: bool = True,
                   **learner_kwargs) -> CrossValidation:
    """Train a fresh `audio_learner(dls, arch, **learner_kwargs)` on each fold and score it on that fold.

    Parameters
    ----------
    dls_for_fold : callable
        fold -> `DataLoaders` validating on that fold, e.g. `partial(esc50_dataloaders, path, bs=32)` (called as
        `dls_for_fold(fold)`).
    arch : str or callable
        The architecture, passed to `audio_learner`.
    folds : iterable
        The folds to validate on, one learner each (default `(1, 2, 3, 4, 5)`).
    epochs : int
        Epochs of training per fold (default 5).
    lr : float
        Learning rate per fold (default 1e-3).
    fine_tune : bool, optional
        True: `learn.fine_tune(epochs, lr)`; False: `learn.fit_one_cycle(epochs, lr)`. Default None: fine-tune
        when the model is pretrained (`learner_kwargs['pretrained']`, default True as in `audio_learner`).
    seed : int, optional
        `set_seed(seed + fold)` before each fold, so a run can be repeated (default 0; None: no seeding).
    cbs : list of Callback, optional
        Callbacks for each fold's training.
    show : bool
        Show progress bars and print each fold's scores (default True).
    **learner_kwargs
        Passed to `audio_learner` (e.g. `metrics`, `pretrained`).

    Returns
    -------
    CrossValidation
        Every metric of the final epoch (and the validation loss) per fold.

    Examples
    --------
    >>> cv = cross_validate(partial(esc50_dataloaders, path, bs=32), 'resnet18', metrics=accuracy)  # doctest: +SKIP
    >>> print(cv.summary())                                                                          # doctest: +SKIP
    """
    check_learner_kwargs(learner_kwargs, arch, 'cross_validate')          # before the first fold's data is built
    pretrained = learner_kwargs.get('pretrained', True)
    use_fine_tune = pretrained if fine_tune is None else fine_tune
    res = CrossValidation()
    for fold in folds:
        if seed is not None: set_seed(seed + int(fold), reproducible=True)
        dls = dls_for_fold(fold)
        learn = audio_learner(dls, arch, **learner_kwargs)
        if not show: learn.remove_cbs([c for c in learn.cbs if type(c).__name__ in ('ProgressCallback', 'PlainProgress')])
        if use_fine_tune: learn.fine_tune(epochs, lr, cbs=cbs)
        else: learn.fit_one_cycle(epochs, lr, cbs=cbs)
        vals = learn.validate()
        names = ['valid_loss'] + [m.name for m in learn.metrics]
        res.scores[fold] = {n: float(v) for n, v in zip(names, vals)}
        if show: print(f'fold {fold}: ' + ', '.join(f'{n} {v:.4f}' for n, v in res.scores[fold].items()))
    return res
