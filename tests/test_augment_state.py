"""A random augmentation keeps nothing between calls: `draw` returns all that `apply` needs and `apply` is a pure
function of the batch and those, so one transform serves interleaved batches (rates, dtypes, shapes) exactly as
it serves each alone, and a call changes none of its attributes."""
import numpy as np
import pytest
import torch

from conftest import write
from fastai_audio.core import AudioTensor
from fastai_audio.transforms.augment import (FILTER_KINDS, AddBackground, AddNoise, Distortion, FrequencyMask, Gain,
                                             LevelNormalize, OneOf, PitchShift, PolarityInversion, RandomFilter, Reverb,
                                             SomeOf, SpeedPerturb, TimeMask, TimeReversal, TimeShift, TimeStretch,
                                             WaveformCutout)
from fastai_audio.transforms.spectrogram import AudioSpectrogram

CACHES = {'_banks'}          # files read once per (rate, device): a function of their key, so not per-call state


@pytest.fixture(scope='module')
def sounds(tmp_path_factory):
    d = tmp_path_factory.mktemp('sounds')
    rng = np.random.default_rng(0)
    (d / 'bg').mkdir()
    write(d / 'bg' / 'long.wav', 0.1 * rng.standard_normal(24000).astype(np.float32), 16000)
    write(d / 'bg' / 'short.wav', 0.1 * rng.standard_normal(3000).astype(np.float32), 16000)
    write(d / 'ir.wav', np.exp(-np.arange(800) / 100.0).astype(np.float32), 16000)
    return d


def waveform_augmentations(d):
    return [PitchShift(p=1.0), TimeStretch(p=1.0), Gain(p=1.0), PolarityInversion(p=1.0), TimeShift(p=1.0),
            AddNoise(p=1.0), AddBackground(d / 'bg', p=1.0), AddBackground(d / 'bg', p=1.0, in_memory=False),
            AddBackground(d / 'bg', p=1.0, event_duration=(0.05, 0.2)),
            AddBackground(d / 'bg', p=1.0, in_memory=False, event_duration=(0.05, 0.2)),
            RandomFilter(kinds=FILTER_KINDS, p=1.0), Reverb(p=1.0), Reverb(d / 'ir.wav', p=1.0), SpeedPerturb(p=1.0),
            LevelNormalize(p=1.0), Distortion(p=1.0), TimeReversal(p=1.0), WaveformCutout(n_cuts=2, p=1.0),
            OneOf([Gain(), SpeedPerturb(), RandomFilter(), Reverb(d / 'ir.wav')]),
            SomeOf([Gain(), TimeReversal(), Distortion(), Reverb(), AddBackground(d / 'bg')], k=(1, 3))]


def spec_augmentations():
    return [FrequencyMask((0, 8), n_masks=2), TimeMask((3, 60), n_masks=3), FrequencyMask((2, 5), value=-1.0)]


def waves():
    "Two uses of one transform: clips at 16 kHz in float32, and at 8 kHz in float64, of other shapes."
    g = torch.Generator().manual_seed(1)
    return (AudioTensor(torch.randn(4, 1, 2400, generator=g), sr=16000),
            AudioTensor(torch.randn(3, 2, 1700, generator=g), sr=8000).double())


def specs():
    g = torch.Generator().manual_seed(2)
    return (AudioSpectrogram(torch.randn(4, 1, 40, 50, generator=g)),
            AudioSpectrogram(torch.randn(3, 1, 64, 30, generator=g)).double())


def _call(t, x, seed):
    torch.manual_seed(seed)
    return t(x, split_idx=0).as_subclass(torch.Tensor)


def _draw(t, x, seed):
    torch.manual_seed(seed)
    return t.draw(x.as_subclass(torch.Tensor), getattr(x, 'sr', None))


def _apply(t, x, params): return t.apply(x.as_subclass(torch.Tensor).clone(), **params)


def _interleaved_equals_alone(make, a, b):
    want_a, want_b = _call(make(), a, 10), _call(make(), b, 20)
    t = make()
    for _ in range(2):                                   # whole calls, alternating between the two uses
        torch.testing.assert_close(_call(t, a, 10), want_a, rtol=0, atol=0)
        torch.testing.assert_close(_call(t, b, 20), want_b, rtol=0, atol=0)
    if isinstance(t, OneOf): return                      # it draws which child applies in `_augment`
    alone_a, alone_b = _apply(t, a, _draw(t, a, 10)), _apply(t, b, _draw(t, b, 20))
    pa, pb = _draw(t, a, 10), _draw(t, b, 20)            # both draws, then both applies in the other order
    torch.manual_seed(99)                                # a random draw inside apply would now differ
    out_b, out_a = _apply(t, b, pb), _apply(t, a, pa)
    torch.testing.assert_close(out_a, alone_a, rtol=0, atol=0)
    torch.testing.assert_close(out_b, alone_b, rtol=0, atol=0)
    assert out_b.dtype == torch.float64


@pytest.mark.parametrize('i', range(20))
def test_interleaved_uses_of_a_waveform_augmentation_equal_each_alone(sounds, i):
    _interleaved_equals_alone(lambda: waveform_augmentations(sounds)[i], *waves())


@pytest.mark.parametrize('i', range(3))
def test_interleaved_uses_of_a_spectrogram_mask_equal_each_alone(i):
    t = spec_augmentations()[i]
    a, b = specs()
    assert _draw(t, a, 0)['start'].shape == (t.n_masks, 4) and _draw(t, b, 0)['width'].shape == (t.n_masks, 3)
    _interleaved_equals_alone(lambda: spec_augmentations()[i], a, b)


def _state(obj):
    "A transform's attributes (its children's too) as plain comparable values, caches left out."
    if isinstance(obj, torch.Tensor): return ('tensor', obj.dtype, tuple(obj.shape), obj.tolist())
    if hasattr(obj, '__dict__') and hasattr(obj, 'encodes'):
        return {k: _state(v) for k, v in vars(obj).items() if k not in CACHES}
    if isinstance(obj, (list, tuple)): return type(obj)(_state(v) for v in obj)
    if isinstance(obj, dict): return {k: _state(v) for k, v in obj.items()}
    return obj


def test_a_call_changes_no_attribute(sounds):
    for t in waveform_augmentations(sounds) + spec_augmentations():
        before = _state(t)
        for x in (waves() if t.order < 50 else specs()):
            t(x, split_idx=0)
            assert _state(t) == before, type(t).__name__
        for u in [t] + list(getattr(t, 'tfms', [])):     # the caches hold only the (rate, device) of batches seen
            assert set(getattr(u, '_banks', {})) <= {(16000, 'cpu'), (8000, 'cpu')}, type(u).__name__
