import numpy as np
import pytest
import torch
from sklearn.metrics import label_ranking_average_precision_score

from fastai_audio import LWLRAP, average_precision, lwlrap


def test_lwlrap_hand_computed():
    # clip 0: true {a, c}; scores rank c(0.9) > b(0.5) > a(0.1): c at rank 1 -> 1/1, a at rank 3 -> 2/3
    # clip 1: true {b}; b ranks 2nd behind a -> 1/2.  Mean over the 3 (clip, label) pairs: (1 + 2/3 + 1/2) / 3
    preds = torch.tensor([[0.1, 0.5, 0.9], [0.8, 0.6, 0.2]])
    targs = torch.tensor([[1, 0, 1], [0, 1, 0]])
    assert float(lwlrap(preds, targs)) == pytest.approx((1 + 2 / 3 + 1 / 2) / 3)


def test_lwlrap_equals_label_weighted_sklearn_lrap():
    rng = np.random.default_rng(0)
    y = (rng.random((200, 12)) < 0.2).astype(int)
    y[y.sum(1) == 0, rng.integers(0, 12)] = 1
    s = rng.random((200, 12))                                  # continuous: no ties
    ref = label_ranking_average_precision_score(y, s, sample_weight=y.sum(1))
    assert float(lwlrap(torch.from_numpy(s), torch.from_numpy(y))) == pytest.approx(ref, rel=1e-6)
    unweighted = label_ranking_average_precision_score(y, s)
    assert abs(ref - unweighted) > 1e-3                        # the weighting matters on this data


def test_lwlrap_perfect_and_errors():
    t = torch.tensor([[1, 0, 1, 0]])
    assert float(lwlrap(torch.tensor([[0.9, 0.1, 0.8, 0.2]]), t)) == 1.0
    assert float(lwlrap(torch.sigmoid(torch.tensor([[3.0, -1.0, 2.0, 0.0]])), t)) == 1.0
    with pytest.raises(ValueError, match='differ'):
        lwlrap(torch.zeros(2, 3), torch.zeros(2, 4))


def test_lwlrap_as_fastai_metric():
    m = LWLRAP()
    assert m.name == 'lwlrap'
    m.reset()

    for p, t in ((torch.tensor([[0.1, 0.5, 0.9]]), torch.tensor([[1, 0, 1]])),
                 (torch.tensor([[0.8, 0.6, 0.2]]), torch.tensor([[0, 1, 0]]))):
        m.accum_values(p, t)                                   # batch by batch, as during validation
    assert float(m.value) == pytest.approx((1 + 2 / 3 + 1 / 2) / 3)


def test_average_precision_per_class_against_sklearn():
    from sklearn.metrics import average_precision_score
    g = torch.Generator().manual_seed(3)
    preds = torch.rand(40, 6, generator=g)
    targs = (torch.rand(40, 6, generator=g) < 0.3).float()
    targs[:, 5] = 0
    ap = average_precision(preds, targs)
    for c in range(5):
        assert float(ap[c]) == pytest.approx(average_precision_score(targs[:, c].numpy(), preds[:, c].numpy()), abs=1e-6)
    assert torch.isnan(ap[5])
    # by hand: scores 0.9 (true), 0.8, 0.7 (true) -> precisions 1 and 2/3 -> AP 5/6
    assert float(average_precision(torch.tensor([[0.9], [0.8], [0.7]]), torch.tensor([[1], [0], [1]]))) == pytest.approx(5 / 6)


def _quadratic_precision(scores, truth):
    "The definition, all pairs at once (O(n^2) memory): what the sorting form must equal."
    at_least = scores[:, None, :] >= scores[:, :, None]
    return (at_least & truth[:, None, :]).sum(-1) / at_least.sum(-1)


def test_sorting_form_equals_the_definition_with_ties():
    from fastai_audio.learn.metrics import _precision_at_each
    g = torch.Generator().manual_seed(0)
    scores = (torch.rand(40, 60, generator=g) * 5).round() / 5             # many ties
    truth = torch.rand(40, 60, generator=g) > 0.6
    torch.testing.assert_close(_precision_at_each(scores, truth), _quadratic_precision(scores, truth).float())


def test_map_against_sklearn_and_at_audioset_scale():
    from sklearn.metrics import average_precision_score
    from fastai_audio import MAP, mean_average_precision
    g = torch.Generator().manual_seed(1)
    preds, targs = torch.rand(200, 6, generator=g), torch.rand(200, 6, generator=g) > 0.7
    targs[:, 5] = False                                                     # a class without positives: left out
    want = average_precision_score(targs[:, :5].numpy(), preds[:, :5].numpy(), average='macro')
    assert float(mean_average_precision(preds, targs)) == pytest.approx(want, abs=1e-6)
    assert MAP().name == 'mAP'
    big_p, big_t = torch.rand(10000, 80, generator=g), torch.rand(10000, 80, generator=g) > 0.97
    ap = average_precision(big_p, big_t)                                    # once a (80, 10000, 10000) tensor: 8 GB
    assert ap.shape == (80,) and 0 < float(ap.nanmean()) < 0.1              # random scores: AP ~ the positive rate
