"""Metrics for audio tagging: `lwlrap`, the label-weighted label-ranking average precision of DCASE 2019
task 2 (FSDKaggle2019)."""
from __future__ import annotations

import torch
from fastai.metrics import AccumMetric

__all__ = ['lwlrap', 'LWLRAP']


def lwlrap(preds: torch.Tensor, targs: torch.Tensor) -> torch.Tensor:
    """Label-weighted label-ranking average precision of scores `preds` `(clips, classes)` against 0/1
    `targs` of the same shape.

    For every (clip, true label) pair: rank the clip's classes by score; the precision at that label's rank is
    the fraction of the classes scored at least as high that are true labels of the clip. lwlrap is the mean
    over all such pairs, so each true label weighs the same (a clip with three labels counts three times).
    On scores without ties it equals sklearn's `label_ranking_average_precision_score` weighted by the number
    of labels per clip. Any monotonic activation (sigmoid) leaves it unchanged. Clips without labels are
    skipped; ties count against the label (the pessimistic rank, as sklearn).
    """
    preds, targs = torch.as_tensor(preds).float(), torch.as_tensor(targs).bool()
    if preds.shape != targs.shape: raise ValueError(f'preds {tuple(preds.shape)} and targs {tuple(targs.shape)} differ')
    at_least = preds[:, None, :] >= preds[:, :, None]          # [n, k, j]: class j scores >= class k
    rank = at_least.sum(-1)
    hits = (at_least & targs[:, None, :]).sum(-1)
    if not targs.any(): raise ValueError('lwlrap needs at least one true label')
    return (hits / rank)[targs].mean()


def LWLRAP() -> AccumMetric:
    "`lwlrap` as a fastai metric over the whole validation set (scores taken as they come: no activation needed)."
    return AccumMetric(lwlrap, flatten=False, name='lwlrap')
