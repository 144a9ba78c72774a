"""Metrics for audio tagging: `lwlrap`, the label-weighted label-ranking average precision of DCASE 2019
task 2 (FSDKaggle2019), the per-class `average_precision` and its mean (`mean_average_precision`, `MAP`).

All rank by sorting, in O(n log n) time and O(n) memory per row (10,000 clips x 80 classes is a few MB)."""
from __future__ import annotations

import torch
from fastai.metrics import AccumMetric

__all__ = ['lwlrap', 'LWLRAP', 'average_precision', 'mean_average_precision', 'MAP']


def lwlrap(preds: torch.Tensor, targs: torch.Tensor) -> torch.Tensor:
    """Label-weighted label-ranking average precision (lwlrap) of scores against 0/1 labels.

    For every (clip, true label) pair: rank the clip's classes by score; the precision at that label's rank is
    the fraction of the classes scored at least as high that are true labels of the clip. lwlrap is the mean
    over all such pairs, so each true label weighs the same (a clip with three labels counts three times).
    On scores without ties it equals sklearn's `label_ranking_average_precision_score` weighted by the number
    of labels per clip. Any monotonic activation (sigmoid) leaves it unchanged. Clips without labels are
    skipped; ties count against the label (the pessimistic rank, as sklearn).

    Parameters
    ----------
    preds : torch.Tensor
        Scores, shape `(clips, classes)` (logits or probabilities alike).
    targs : torch.Tensor
        0/1 labels, the same shape as `preds`.

    Returns
    -------
    torch.Tensor
        A scalar in [0, 1].

    Raises
    ------
    ValueError
        When the shapes of `preds` and `targs` differ, or `targs` has no true label.

    Examples
    --------
    >>> float(lwlrap(torch.tensor([[0.9, 0.1], [0.2, 0.8]]), torch.tensor([[1, 0], [1, 0]])))
    0.75
    """
    preds, targs = torch.as_tensor(preds).float(), torch.as_tensor(targs).bool()
    if preds.shape != targs.shape: raise ValueError(f'preds {tuple(preds.shape)} and targs {tuple(targs.shape)} differ')
    if not targs.any(): raise ValueError('lwlrap needs at least one true label')
    return _precision_at_each(preds, targs)[targs].mean()


def LWLRAP() -> AccumMetric:
    """`lwlrap` as a fastai metric over the whole validation set.

    Scores are taken as they come: no activation is needed.

    Returns
    -------
    AccumMetric
        A metric named 'lwlrap', for `audio_learner(..., metrics=LWLRAP())`.
    """
    return AccumMetric(lwlrap, flatten=False, name='lwlrap')


def average_precision(preds: torch.Tensor, targs: torch.Tensor) -> torch.Tensor:
    """Average precision of each class from scores and 0/1 labels.

    For each class, rank the clips by the class's score; its average precision is the mean, over the clips that
    truly have the class, of the precision among the clips ranked at least as high (ties count against, as in
    `lwlrap`). Equal to sklearn's `average_precision_score(targs[:, c], preds[:, c])` on tie-free scores.

    Parameters
    ----------
    preds : torch.Tensor
        Scores, shape `(clips, classes)`.
    targs : torch.Tensor
        0/1 labels, the same shape as `preds`.

    Returns
    -------
    torch.Tensor
        Shape `(classes,)`; NaN for a class with no positive clip.
    """
    scores, truth = torch.as_tensor(preds).float().T, torch.as_tensor(targs).bool().T
    n = truth.sum(-1)
    return torch.where(n > 0, (_precision_at_each(scores, truth) * truth).sum(-1) / n.clamp_min(1), torch.nan)


def mean_average_precision(preds: torch.Tensor, targs: torch.Tensor) -> torch.Tensor:
    """The mean over classes of `average_precision`: the mAP of AudioSet and PANNs.

    Classes without a positive clip are left out of the mean.

    Parameters
    ----------
    preds : torch.Tensor
        Scores, shape `(clips, classes)`.
    targs : torch.Tensor
        0/1 labels, the same shape as `preds`.

    Returns
    -------
    torch.Tensor
        A scalar in [0, 1].

    Raises
    ------
    ValueError
        When no class has a positive clip.
    """
    ap = average_precision(preds, targs)
    if torch.isnan(ap).all(): raise ValueError('mean_average_precision needs at least one class with a positive clip')
    return ap.nanmean()


def MAP() -> AccumMetric:
    """`mean_average_precision` as a fastai metric over the whole validation set.

    Scores are taken as they come: no activation is needed.

    Returns
    -------
    AccumMetric
        A metric named 'mAP'.
    """
    return AccumMetric(mean_average_precision, flatten=False, name='mAP')


def _precision_at_each(scores: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """For rows of `scores` `(rows, k)` and bool `truth`: at each entry, the fraction of the row's entries scored
    at least as high that are true (the precision at that entry's pessimistic rank), shape `(rows, k)`.

    By sorting each row once: after a descending sort, the entries scored at least as high as a value are a
    prefix, whose length `searchsorted` finds (ties: the end of the tie), and a cumulative sum counts its true
    entries."""
    order = scores.argsort(dim=-1, descending=True)
    ranked = scores.gather(-1, order)
    hits = truth.gather(-1, order).to(torch.long).cumsum(-1)
    neg = (-ranked).contiguous()                                      # ascending
    at_least = torch.searchsorted(neg, neg, right=True)              # entries scoring >= each, (rows, k)
    prec = hits.gather(-1, at_least - 1).to(scores.dtype) / at_least.to(scores.dtype)
    return torch.empty_like(prec).scatter_(-1, order, prec)
