import pytest
import torch

from fastai_audio import (AudioTensor, WindowedDataset, aggregate_windows, audio_learner,
                          window_starts)


def test_window_starts_cover_the_signal_without_overhang():
    assert window_starts(10, 4, 2).tolist() == [0, 2, 4, 6]
    assert window_starts(11, 4, 2).tolist() == [0, 2, 4, 6, 7]          # one more, flush with the end
    assert window_starts(3, 4, 2).tolist() == [0]                       # shorter than a window: one, padded later
    assert window_starts(4, 4, 4).tolist() == [0]
    for n in range(1, 40):
        s = window_starts(n, 5, 3).tolist()
        assert s[0] == 0 and s[-1] + 5 >= n and all(0 <= a <= max(0, n - 5) for a in s)
    with pytest.raises(ValueError, match='> 0'):
        window_starts(10, 0, 1)


def test_aggregate_mean_and_max_per_clip():
    p = torch.tensor([[0.1, 0.9], [0.3, 0.5], [0.8, 0.2], [0.0, 1.0]])
    ids = torch.tensor([0, 0, 2, 2])
    torch.testing.assert_close(aggregate_windows(p, ids, n_clips=3, agg='mean'), torch.tensor([[0.2, 0.7], [0, 0], [0.4, 0.6]]))
    torch.testing.assert_close(aggregate_windows(p, ids, n_clips=3, agg='max'), torch.tensor([[0.3, 0.9], [0, 0], [0.8, 1.0]]))
    with pytest.raises(ValueError, match="'mean' or 'max'"):
        aggregate_windows(p, ids, n_clips=3, agg='median')


def test_windowed_dataset_cuts_each_clip():
    clips = [(AudioTensor(torch.arange(n, dtype=torch.float32)[None], sr=10), lab) for n, lab in ((25, 0), (7, 1))]
    wds = WindowedDataset(clips, window=1.0, hop=0.5)           # 10 samples every 5
    assert wds.clip_ids.tolist() == [0, 0, 0, 0, 1]
    assert [int(wds[j][0][0, 0]) for j in range(4)] == [0, 5, 10, 15]
    last, lab = wds[4]
    assert lab == 1 and last.shape == (1, 10) and last[0, 7:].abs().max() == 0     # padded with zeros
    assert WindowedDataset(clips, 1.0, hop=0.5, pad='repeat')[4][0][0, 7:].tolist() == [0, 1, 2]


def test_window_preds_aggregate_every_window_of_each_clip(tone_learner):
    learn = tone_learner
    preds, targs, wpreds, ids = learn.get_window_preds(with_windows=True)        # 0.5 s windows every 0.25 s
    n_clips = len(learn.dls.valid_ds)
    assert preds.shape == (n_clips, 2) and ids.tolist() == sorted(ids.tolist())
    assert torch.bincount(ids).tolist() == [11] * n_clips                         # 1 + (3 - 0.5) / 0.25
    for i in range(n_clips):
        torch.testing.assert_close(preds[i], wpreds[ids == i].mean(0))
    pmax, _ = learn.get_window_preds(agg='max', hop=0.5)
    assert pmax.shape == (n_clips, 2)
    assert targs.tolist() == [int(y) for _, y in learn.dls.valid_ds]
    assert learn.validate_windows()['accuracy'] == pytest.approx(float((preds.argmax(1) == targs).float().mean()))


def test_window_needs_a_length_when_loaders_do_not_crop(classic_dls):
    dls = classic_dls
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(2, 5))
    learn = audio_learner(dls, net)
    with pytest.raises(ValueError, match='window'):
        learn.get_window_preds()
