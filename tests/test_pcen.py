"""PCEN against librosa.pcen, the numerical reference, and its defining property: a constant gain of the
recording chain cancels once the smoother has settled."""
import librosa
import numpy as np
import pytest
import torch

from fastai_audio.runtime.functional import melspectrogram, pcen, pcen_smoothing


def _mel_power(seed=0, sr=16000, seconds=3.0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    y = 0.3 * np.sin(2 * np.pi * 440 * t) * (t > 1) + 0.01 * rng.standard_normal(len(t))
    return melspectrogram(torch.from_numpy(y), sr, n_fft=1024, hop_length=256, n_mels=40).numpy()


@pytest.mark.parametrize('settings', [{}, dict(gain=0.8, bias=10.0, power=0.25, time_constant=0.06),
                                      dict(power=0.0), dict(bias=0.0, power=0.5), dict(eps=1e-3, gain=0.5)])
def test_pcen_matches_librosa(settings):
    S = _mel_power() * 2 ** 31
    want = librosa.pcen(S, sr=16000, hop_length=256, **settings)
    got = pcen(torch.from_numpy(S), 16000, 256, **settings).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_pcen_keeps_shape_and_dtype_on_batches():
    S = torch.from_numpy(_mel_power()).float() * 2 ** 31
    batch = torch.stack([S, 2 * S])[:, None]                     # (batch, channels, mels, frames)
    out = pcen(batch, 16000, 256)
    assert out.shape == batch.shape and out.dtype == torch.float32
    torch.testing.assert_close(out[0, 0], pcen(S, 16000, 256))


def test_a_constant_gain_cancels_once_the_smoother_settles():
    """Gain control: once the smoother has settled, scaling the input by 10 scales the output by at most about
    (10 ** (1 - gain)) ** power (1.02 at the defaults), where without gain control it would be 10 ** power (3.2)."""
    S = torch.from_numpy(_mel_power()) * 2 ** 31
    a, b = pcen(S, 16000, 256), pcen(10 * S, 16000, 256)
    late = slice(S.shape[-1] // 2, None)                           # after ~1.5 s, a few time constants
    ratio = (b[..., late] / a[..., late]).median()
    assert 1.0 < float(ratio) < 10 ** (0.02 * 0.5) * 1.05          # (10 ** (1 - gain)) ** power, with slack


def test_smoothing_weight_and_bad_settings():
    for sr, hop, tc in [(22050, 512, 0.4), (16000, 256, 0.06), (8000, 80, 2.0)]:
        s, T = pcen_smoothing(sr, hop, tc), tc * sr / hop
        assert 0 < s <= 1 and T * T * s * s + s - 1 == pytest.approx(0, abs=1e-12)
        S = _mel_power()[:, :50] * 2 ** 31                           # the weight librosa derives itself
        np.testing.assert_allclose(librosa.pcen(S, sr=sr, hop_length=hop, time_constant=tc),
                                   librosa.pcen(S, sr=sr, hop_length=hop, b=s), rtol=1e-12)
    with pytest.raises(ValueError, match='gain'): pcen(torch.ones(2, 3), 16000, 256, gain=1.5)
    with pytest.raises(ValueError, match='smoothing'): pcen(torch.ones(2, 3), 16000, 256, smoothing=0)
    with pytest.raises(ValueError, match='time_constant'): pcen_smoothing(16000, 256, 0)


# --------------------------------------------------------------------------- the loop-free kernels
def _recursion(x, s, initial):
    m, out = torch.full_like(x[..., 0], initial), torch.empty_like(x)
    for t in range(x.shape[-1]):
        m = (1 - s) * m + s * x[..., t]
        out[..., t] = m
    return out


@pytest.mark.parametrize('frames', [1, 2, 63, 700])
@pytest.mark.parametrize('s', [0.003, 0.04, 0.5, 1.0])
def test_exponential_smoothing_equals_the_recursion(frames, s):
    from fastai_audio.runtime.functional import exponential_smoothing
    x = torch.rand(3, 5, frames, dtype=torch.float64, generator=torch.Generator().manual_seed(frames))
    want = _recursion(x, s, 0.7)
    torch.testing.assert_close(exponential_smoothing(x, s, initial=0.7), want, rtol=1e-12, atol=0)


def test_deltas_equal_librosa_inside_the_clip_and_the_regression_at_its_edges():
    from fastai_audio.runtime.functional import deltas
    y = np.random.default_rng(0).standard_normal((2, 40, 100))
    for width in (3, 5, 9):
        got, want, h = deltas(torch.from_numpy(y), width=width).numpy(), librosa.feature.delta(y, width=width), width // 2
        np.testing.assert_allclose(got[..., h:-h], want[..., h:-h], rtol=1e-10, atol=1e-12)
    # a ramp has slope 1 inside; at the edges the repeated first / last frame shorten the regression
    torch.testing.assert_close(deltas(torch.arange(6.)), torch.tensor([0.5, 0.8, 1.0, 1.0, 0.8, 0.5]))
    torch.testing.assert_close(deltas(torch.arange(12.) ** 2, 2)[4:8], torch.full((4,), 2.0))   # d2/dt2 of t^2
    with pytest.raises(ValueError, match='width must be an odd int'): deltas(torch.zeros(5), width=4)
