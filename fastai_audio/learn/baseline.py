"""What a network has to beat: statistics of its input and a logistic regression, fitted in seconds.

`fit_baseline(dls)` summarises every clip of the loaders' training and validation splits by the mean and
standard deviation over frames of each row (and channel) of the spectrogram the loaders compute (log-mels by
default: the classic "log-mel statistics" features), fits a multinomial logistic regression on the training
split and scores it on the validation split. Clips go through the validation pipeline (its crop, no
augmentation) on both splits. `learn.baseline()` prints it beside the network's own validation accuracy, so a
user sees what the CNN adds for its cost; notebook 01 and `fastai-audio train` show it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..runtime.functional import length_mask, masked_mean_std

__all__ = ['Baseline', 'fit_baseline', 'clip_statistics']


@dataclass(frozen=True)
class Baseline:
    """The baseline's score, and the network's beside it.

    Parameters
    ----------
    accuracy : float
        Validation accuracy of log-mel statistics + logistic regression.
    network : float or None
        The network's validation accuracy on the same clips (None when not measured).
    n_train : int
        Training clips the regression was fitted on.
    n_valid : int
        Validation clips it was scored on.
    n_features : int
        Features per clip (2 x channels x rows).
    """
    accuracy: float
    network: float | None
    n_train: int
    n_valid: int
    n_features: int

    def __str__(self) -> str:
        s = f'baseline (input statistics + logistic regression): valid accuracy {self.accuracy:.3f}'
        if self.network is None: return s
        gain = 100 * (self.network - self.accuracy)
        return f'{s}; network: {self.network:.3f} ({gain:+.1f} points over the baseline)'


def clip_statistics(spec: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Mean and standard deviation over frames of each row of each channel of a spectrogram batch.

    `(batch, channels, rows, frames)` -> `(batch, 2 * channels * rows)` (means first), over each clip's real
    frames when `lengths` `(batch,)` is given.

    Parameters
    ----------
    spec : torch.Tensor
        Spectrogram batch.
    lengths : torch.Tensor or None
        Frames of each clip before padding (default None: all).

    Returns
    -------
    torch.Tensor
        The features, float64.
    """
    x = spec.as_subclass(torch.Tensor).double()
    b = x.shape[0]
    rows = x.reshape(-1, x.shape[-1])                                       # one row of one clip each
    per_row = rows.shape[0] // b
    lengths = torch.full((b,), x.shape[-1]) if lengths is None else lengths.cpu()
    m, s = masked_mean_std(rows, length_mask(lengths.repeat_interleave(per_row), x.shape[-1]).to(rows.device))
    return torch.cat([m.reshape(b, -1), s.reshape(b, -1).nan_to_num(0.0)], dim=1)


def _features(dl) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    with torch.no_grad():
        for xb, yb in dl:
            if xb.ndim != 4:
                raise ValueError('fit_baseline summarises spectrograms: the loaders give batches of shape '
                                 f'{tuple(xb.shape)} (a waveform front end); put a front end in batch_tfms')
            xs.append(clip_statistics(xb, getattr(xb, 'lengths', None)).cpu().numpy())
            ys.append(yb.as_subclass(torch.Tensor).cpu().numpy())
    return np.concatenate(xs), np.concatenate(ys)


def fit_baseline(dls, *, learn=None, C: float = 1.0, max_iter: int = 2000) -> Baseline:
    """Fit log-mel statistics + logistic regression on `dls`'s training split and score it on its validation split.

    Parameters
    ----------
    dls : DataLoaders
        Single-label audio loaders whose batches are spectrograms (any `FrontEnd`).
    learn : Learner, optional
        When given, its network's accuracy on the same validation clips is measured too (default None).
    C : float
        Inverse L2 strength of scikit-learn's `LogisticRegression`, on standardised features (default 1.0).
    max_iter : int
        Its iteration limit (default 2000).

    Returns
    -------
    Baseline
        The scores (printable).

    Raises
    ------
    ValueError
        For multi-label targets, or loaders whose batches are not spectrograms.

    Examples
    --------
    >>> print(fit_baseline(dls))                                  # doctest: +SKIP
    baseline (input statistics + logistic regression): valid accuracy 0.490
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    if getattr(dls.train_ds[0][1], 'ndim', 0) > 0:
        raise ValueError('fit_baseline is for single-label classification (one class a clip); these targets are '
                         'multi-label')
    train = dls.test_dl(dls.train_ds.items, with_labels=True)        # the validation pipeline: no augmentation
    x_train, y_train = _features(train)
    x_valid, y_valid = _features(dls.valid.new(shuffle=False, drop_last=False))
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    clf.fit(x_train, y_train)
    acc = float((clf.predict(x_valid) == y_valid).mean())
    network = None
    if learn is not None:
        preds, targs = learn.get_preds(dl=dls.valid.new(shuffle=False, drop_last=False))
        network = float((preds.argmax(-1) == targs).float().mean())
    return Baseline(acc, network, len(y_train), len(y_valid), x_train.shape[1])
