"""SED labels move with the audio: after a time-changing augmentation the frames the targets mark are the frames
where the event's energy is, for several random draws; a transform that cannot say what it does to time is refused."""
import numpy as np
import pytest
import torch

import fastai_audio as fa
from fastai_audio.runtime.events import move_events

SR, SECONDS = 16000, 4.0


@pytest.fixture(scope='module')
def tone_scapes(tmp_path_factory):
    "Eight 4-s clips, a 1 kHz tone from 1 to 2 s labelled `tone` (the measurement of the issue, as a test)."
    import soundfile as sf
    d = tmp_path_factory.mktemp('tone_scapes')
    t = np.arange(int(SECONDS * SR)) / SR
    rng = np.random.default_rng(0)
    rows = ['filename,onset,offset,event_label']
    for i in range(8):
        w = np.where((t >= 1) & (t < 2), 0.5 * np.sin(2 * np.pi * 1000 * t), 0.0) + 1e-4 * rng.standard_normal(len(t))
        sf.write(d / f'c{i}.wav', w.astype('float32'), SR)
        rows.append(f'c{i}.wav,1.0,2.0,tone')
    (d / 'events.csv').write_text('\n'.join(rows) + '\n')
    return d


def _loud_and_marked(d, aug, seed):
    "(frames within 20 dB of the clip's loudest, frames the targets mark), each `(batch, frames)`."
    dls = fa.sed_dataloaders(d / 'events.csv', d, valid_pct=0.0, bs=8, num_workers=0,
                             batch_tfms=[aug, *fa.get_frequency_batch_transforms(n_mels=40, normalize=None)])
    fa.set_seed(seed)
    x, y = dls.train.one_batch()
    level = x.as_subclass(torch.Tensor)[:, 0].amax(1)             # (batch, frames): the loudest band in dB (a
    loud = level > level.amax(-1, keepdim=True) - 20             # speed change moves the tone's pitch too)
    return loud, y.as_subclass(torch.Tensor)[..., 0] > 0.5


TIME_CHANGING = {
    'shift, wrapped': lambda: fa.TimeShift(0.4, p=1),
    'shift, cut': lambda: fa.TimeShift(0.4, wrap=False, p=1),
    'reversal': lambda: fa.TimeReversal(p=1),
    'stretch': lambda: fa.TimeStretch((0.7, 1.4), p=1),
    'speed': lambda: fa.SpeedPerturb((0.7, 1.4), p=1),
    'one of them': lambda: fa.OneOf([fa.TimeShift(0.4), fa.TimeReversal(), fa.SpeedPerturb((0.7, 1.4))]),
    'some of them': lambda: fa.SomeOf([fa.TimeShift(0.4), fa.TimeReversal(), fa.TimeStretch((0.7, 1.4))], k=(1, 3)),
}


@pytest.mark.parametrize('name', TIME_CHANGING)
def test_frame_targets_mark_where_the_sound_is_after_the_augmentation(tone_scapes, name):
    for seed in (0, 1, 2):
        loud, marked = _loud_and_marked(tone_scapes, TIME_CHANGING[name](), seed)
        assert marked.any(-1).all(), f'{name}, seed {seed}: a clip lost its event'
        iou = (loud & marked).sum(-1).float() / (loud | marked).sum(-1).float()
        # the STFT window smears the tone's edges by about two frames each side (of ~60): IoU is not exactly 1
        assert iou.min() > 0.85, f'{name}, seed {seed}: IoU {iou.tolist()}'
    assert not torch.equal(marked, _loud_and_marked(tone_scapes, fa.Gain(p=0.0), 0)[1]), 'the events did not move'


def test_augmentations_that_keep_time_keep_the_labels(tone_scapes):
    aug = fa.SomeOf([fa.Gain(), fa.AddNoise((20.0, 30.0)), fa.RandomFilter()], k=(1, 3))
    loud, marked = _loud_and_marked(tone_scapes, aug, 0)
    assert torch.equal(marked, _loud_and_marked(tone_scapes, fa.Gain(p=0.0), 0)[1])
    assert ((loud & marked).sum(-1).float() / marked.sum(-1)).min() > 0.95


def test_a_transform_that_cannot_say_what_it_does_to_time_is_refused_by_name(tone_scapes):
    from fasttransform import Transform

    class Stutter(Transform):
        def encodes(self, x: fa.AudioTensor): return x

    with pytest.raises(ValueError, match='Stutter does not say what it does to time'):
        fa.sed_dataloaders(tone_scapes / 'events.csv', tone_scapes, batch_tfms=[Stutter(), *fa.get_frequency_batch_transforms()])

    class Level(Transform):
        keeps_time = True
        def encodes(self, x: fa.AudioTensor): return x

    dls = fa.sed_dataloaders(tone_scapes / 'events.csv', tone_scapes, valid_pct=0.0, bs=2, num_workers=0,
                             batch_tfms=[Level(), *fa.get_frequency_batch_transforms()])
    assert dls.one_batch()[1].shape[-1] == 1


def test_move_events_closed_forms():
    ev = torch.tensor([[[1.0, 2.0, 0.0], [3.5, 4.0, 1.0], [-1.0, -1.0, -1.0], [-2.0, -2.0, 1.0]]])   # strong, strong, padding, weak
    torch.testing.assert_close(move_events(ev, 4.0, shift=1.0)[0, :2], torch.tensor([[2.0, 3.0, 0.0], [-1.0, -1.0, -1.0]]))
    torch.testing.assert_close(move_events(ev, 4.0, shift=-1.5)[0, :2], torch.tensor([[0.0, 0.5, 0.0], [2.0, 2.5, 1.0]]))
    rev = move_events(ev, 4.0, reverse=True)[0]
    torch.testing.assert_close(rev[:2], torch.tensor([[2.0, 3.0, 0.0], [0.0, 0.5, 1.0]]))
    torch.testing.assert_close(rev[2:], ev[0, 2:])                                    # padding and weak rows pass
    torch.testing.assert_close(move_events(ev, 4.0, scale=0.5)[0, :2], torch.tensor([[0.5, 1.0, 0.0], [1.75, 2.0, 1.0]]))
    torch.testing.assert_close(move_events(ev, 4.0, scale=2.0)[0, :2], torch.tensor([[2.0, 4.0, 0.0], [-1.0, -1.0, -1.0]]))
    wrapped = move_events(ev, 4.0, shift=1.0, wrap=True)[0]                           # the second event comes round
    assert wrapped.shape == (8, 3)
    kept = {tuple(r.tolist()) for r in wrapped if r[2] >= 0}
    assert kept == {(2.0, 3.0, 0.0), (0.5, 1.0, 1.0), (-2.0, -2.0, 1.0)}
    split = move_events(torch.tensor([[[3.0, 4.0, 0.0]]]), 4.0, shift=torch.tensor([0.5]), wrap=True)[0]
    assert {tuple(r.tolist()) for r in split} == {(3.5, 4.0, 0.0), (0.0, 0.5, 0.0)}  # one event across the end: two


def test_mixup_mixes_the_frame_targets_with_the_weight_of_the_audio(tone_scapes):
    from fastai.callback.core import Callback, CancelFitException
    from fastai.callback.mixup import MixUp
    seen = {}

    class Spy(Callback):
        order = MixUp.order - 1                                 # sees the batch before MixUp, and its mix after
        def before_batch(self): seen.update(x0=self.learn.x.clone(), y0=self.learn.y.clone())
        def after_pred(self):
            mix = [c for c in self.learn.cbs if isinstance(c, MixUp)][0]
            seen.update(x=self.learn.x, y=self.learn.y, lam=mix.lam)
            raise CancelFitException()

    dls = fa.sed_dataloaders(tone_scapes / 'events.csv', tone_scapes, valid_pct=0.0, bs=8, num_workers=0,
                             batch_tfms=[fa.TimeShift(0.4, p=1), *fa.get_frequency_batch_transforms(n_mels=40)])
    learn = fa.sed_learner(dls, fa.models.resnet18, pretrained=False, cbs=MixUp(0.4), metrics=[])
    fa.set_seed(0)
    learn.fit(1, 1e-3, cbs=Spy())
    x0, y0, x, y = (seen[k].as_subclass(torch.Tensor).float() for k in ('x0', 'y0', 'x', 'y'))
    lam = seen['lam'].flatten()
    assert ((lam >= 0.5) & (lam <= 1)).all()
    for i in range(len(x)):                                     # which clip each was mixed with: the one that fits
        misfit = [float((x[i] - lam[i] * x0[i] - (1 - lam[i]) * x0[j]).abs().max()) for j in range(len(x))]
        j = int(np.argmin(misfit))
        assert misfit[j] < 1e-4
        torch.testing.assert_close(y[i], lam[i] * y0[i] + (1 - lam[i]) * y0[j])   # the targets with the same weight
    assert not torch.equal(y, y0)                               # soft targets, as the audio
