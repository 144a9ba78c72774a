"""Property tests (hypothesis) of the loader, crop/pad, every spectral function and transform and every augmentation.

For random batch sizes, channel counts, clip lengths (1 sample, around `n_fft // 2` and `n_fft`, or any) and
settings within their documented ranges: shapes as documented, finite float32 outputs (silence included),
sample rate and other metadata carried, random transforms unchanged at p=0, and bad settings refused with a
ValueError naming them. Expected values come from independent references (numpy.pad, torch.roll, exact
integer scaling, the documented formulas), never from running the code under test.
"""
import math
import random
import re
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import assume, example, given, settings, strategies as st

from fastai_audio.transforms.augment import (AddBackground, AddNoise, FrequencyMask, Gain, PitchShift,
                                             PolarityInversion, RandomFilter, TimeMask, TimeShift, TimeStretch,
                                             add_noise, apply_gain, colored_noise, frequency_filter, mask_along,
                                             mix_at_snr, phase_vocoder, pitch_shift, time_shift, time_stretch)
from fastai_audio.core import AudioLoadError, AudioTensor, load_audio
from fastai_audio.data.croppad import crop_pad
from fastai_audio.transforms.spectrogram import (MFCC, AmplitudeToDB, AudioSpectrogram, MelSpectrogram, SpecNormalize,
                                                 Spectrogram, get_frequency_batch_transforms)
from fastai_audio.runtime.functional import (amplitude_to_db, dct_matrix, length_mask, masked_mean_std, mel_filterbank,
                                             melspectrogram, mfcc, spectrogram, stft)

RATES = (8000, 16000, 22050, 44100, 48000)
PAD_MODES = {'constant': 'constant', 'reflect': 'reflect', 'replicate': 'edge', 'circular': 'wrap'}  # ours: numpy's
FAST = settings(max_examples=40, deadline=None)
seeds = st.integers(0, 2 ** 32 - 1)


# --------------------------------------------------------------------------- strategies
def make_signal(rng: np.random.Generator, shape, kind: str, amp: float) -> np.ndarray:
    "A float64 array of `shape` `(..., time)`: 'noise', 'silence', 'dc' (a constant) or 'impulse' at level `amp`."
    if kind == 'noise': return amp * rng.standard_normal(shape)
    y = np.zeros(shape)
    if kind == 'dc': y[:] = amp
    elif kind == 'impulse': y[..., rng.integers(shape[-1])] = amp
    return y


@st.composite
def waves(draw, length=st.integers(1, 2048), max_batch=3, max_channels=2, dtype=torch.float32):
    "A batch `(batch, channels, samples)` tensor of noise, silence, a constant or an impulse at a random level."
    shape = (draw(st.integers(1, max_batch)), draw(st.integers(1, max_channels)), draw(length))
    kind = draw(st.sampled_from(['noise', 'silence', 'dc', 'impulse']))
    amp = draw(st.sampled_from([1e-4, 0.1, 1.0, 4.0]))
    y = make_signal(np.random.default_rng(draw(seeds)), shape, kind, amp)
    return torch.from_numpy(y).to(dtype)


def lengths_around(n_fft: int):
    """Clip lengths that matter to a centred STFT of `n_fft`: 1 or 2 samples, around `n_fft // 2` (the padding)
    and `n_fft`, or anything up to 4 `n_fft`."""
    half = n_fft // 2
    special = sorted({v for v in (1, 2, half - 1, half, half + 1, n_fft - 1, n_fft, n_fft + 1) if v >= 1})
    return st.one_of(st.sampled_from(special), st.integers(1, 4 * n_fft + 64))


@st.composite
def stft_settings(draw, max_n_fft=512):
    "`(n_fft, hop_length, win_length)`: any n_fft (odd ones too), hop and window, or None for the defaults."
    n_fft = draw(st.integers(1, max_n_fft))
    return n_fft, draw(st.none() | st.integers(1, 2 * n_fft)), draw(st.none() | st.integers(1, n_fft))


def hop_of(n_fft, hop, win):
    "The documented default hop: `win_length // 4`, at least 1, win_length defaulting to n_fft."
    return hop if hop is not None else max(1, (win or n_fft) // 4)


def centred_frames(n, n_fft, hop):
    "Frames of a centred STFT as documented: 1 + (n + 2 * (n_fft // 2) - n_fft) // hop."
    return 1 + (n + 2 * (n_fft // 2) - n_fft) // hop


def audio(x: torch.Tensor, sr: int, lengths=None) -> AudioTensor:
    "`x` as an `AudioTensor` batch at `sr`, with `lengths` as `pad_to_longest` leaves them (if given)."
    a = AudioTensor(x, sr=sr)
    if lengths is not None: a.lengths = lengths
    return a


@st.composite
def padded_lengths(draw, batch: int, n: int):
    "Per-example lengths of a batch padded to its longest clip (`n`), or None for a batch without padding."
    if not draw(st.booleans()): return None
    ls = draw(st.lists(st.integers(1, n), min_size=batch, max_size=batch))
    ls[draw(st.integers(0, batch - 1))] = n
    return torch.tensor(ls)


def assert_finite_float32(t: torch.Tensor):
    assert t.dtype == torch.float32, t.dtype
    assert torch.isfinite(t.as_subclass(torch.Tensor)).all(), 'non-finite output'


# --------------------------------------------------------------------------- loader and crop/pad
FORMATS = [('WAV', 'PCM_16', np.int16), ('WAV', 'PCM_32', np.int32), ('WAV', 'FLOAT', np.float32),
           ('FLAC', 'PCM_16', np.int16), ('FLAC', 'PCM_24', np.int32)]
# (divisor to [-1, 1), tolerance of the decoded value): exact for 16-bit and float, float32 rounding for 32-bit,
# the 8 dropped low bits for 24-bit FLAC written from int32.
SCALE = {'PCM_16': (2 ** 15, 0.0), 'PCM_32': (2 ** 31, 2 ** -24), 'PCM_24': (2 ** 31, 2 ** -23), 'FLOAT': (1, 0.0)}


@st.composite
def audio_files(draw):
    "`(format, subtype, data (samples, channels), rate)`: random integer or float samples, 1-8 channels, <= 2 s."
    fmt, subtype, dtype = draw(st.sampled_from(FORMATS))
    file_sr, channels = draw(st.sampled_from(RATES)), draw(st.integers(1, 8))
    n = draw(st.integers(1, 64) | st.integers(1, 2 * file_sr))
    rng = np.random.default_rng(draw(seeds))
    if dtype is np.float32: data = rng.uniform(-1.5, 1.5, (n, channels)).astype(np.float32)
    else:
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, (n, channels), dtype=dtype, endpoint=True)
        data[0, 0] = draw(st.sampled_from([info.min, info.max, 0]))          # the extremes of the format
    return fmt, subtype, data, file_sr


@settings(max_examples=50, deadline=None)
@given(f=audio_files(), sr=st.none() | st.sampled_from(RATES), mono=st.booleans())
@example(f=('WAV', 'FLOAT', np.full((1, 2), 0.5, np.float32), 48000), sr=8000, mono=False)    # 1/6 of a sample
def test_load_audio_shape_rate_and_values(f, sr, mono):
    """load_audio: float32 `(1 or channels, n')`, finite, at `sr`; n' is n * sr / file_sr rounded to the nearest
    (soxr's rule), and a clip that would resample to no sample at all is an AudioLoadError saying so; without
    resampling the samples are the file's integers scaled to [-1, 1) (floats as stored)."""
    fmt, subtype, data, file_sr = f
    n, channels = data.shape
    exact = Fraction(n * (sr or file_sr), file_sr)
    assume(exact != Fraction(1, 2))                 # rounds either way
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f'clip.{fmt.lower()}'
        sf.write(str(path), data, file_sr, subtype=subtype, format=fmt)
        if exact < Fraction(1, 2):
            with pytest.raises(AudioLoadError, match='too short to resample'): load_audio(path, sr=sr, mono=mono)
            return
        x = load_audio(path, sr=sr, mono=mono)
    assert isinstance(x, AudioTensor) and x.sr == (sr or file_sr)
    assert x.ndim == 2 and x.shape[0] == (1 if mono else channels)
    assert abs(x.shape[1] - exact) <= Fraction(1, 2)
    assert_finite_float32(x)
    if sr in (None, file_sr):
        div, tol = SCALE[subtype]
        want = data.T.astype(np.float64) / div
        if mono: want = want.mean(axis=0, keepdims=True)
        np.testing.assert_allclose(x.numpy(), want, rtol=0, atol=tol + (1e-6 if mono and channels > 1 else 0))
        if subtype != 'FLOAT': assert float(x.abs().max()) <= 1.0


@FAST
@given(x=waves(length=st.integers(1, 600), max_batch=1, max_channels=3).map(lambda t: t[0]),
       n_samples=st.integers(1, 700), mode=st.sampled_from(['start', 'centre', 'center', 'random']),
       pad=st.sampled_from(['zeros', 'repeat']), seed=seeds)
def test_crop_pad_gives_exactly_n_samples_and_keeps_the_content(x, n_samples, mode, pad, seed):
    """crop_pad: exactly `n_samples`; a longer clip gives one contiguous window of it (the first for 'start', the
    middle one for 'centre'); a shorter one is kept whole, followed by zeros or by itself looped."""
    out = crop_pad(x, n_samples, mode=mode, pad=pad, rng=random.Random(seed))
    n = x.shape[-1]
    assert out.shape == (x.shape[0], n_samples) and out.dtype == x.dtype
    if n >= n_samples:
        windows = x.unfold(-1, n_samples, 1).transpose(0, 1)             # (starts, channels, n_samples)
        starts = [s for s in range(n - n_samples + 1) if torch.equal(windows[s], out)]
        assert starts, 'the crop is not a window of the clip'
        if mode == 'start': assert 0 in starts
        if mode in ('centre', 'center'): assert (n - n_samples) // 2 in starts
    else:
        assert torch.equal(out[:, :n], x)
        if pad == 'zeros': assert not out[:, n:].any()
        else: assert torch.equal(out, x[:, torch.arange(n_samples) % n])


def test_crop_pad_refuses_a_length_below_one_and_bad_modes_even_when_unused():
    with pytest.raises(ValueError, match='n_samples'): crop_pad(torch.zeros(1, 10), 0)
    with pytest.raises(ValueError, match='mode'): crop_pad(torch.zeros(1, 10), 20, mode='middle')    # pads, no crop
    with pytest.raises(ValueError, match='pad'): crop_pad(torch.zeros(1, 10), 5, pad='mirror')       # crops, no pad


# --------------------------------------------------------------------------- spectral functions
@FAST
@given(cfg=stft_settings(), data=st.data(), pad_mode=st.sampled_from(sorted(PAD_MODES)))
def test_stft_frames_and_padding_as_numpy_pad(cfg, data, pad_mode):
    """stft, centred, for any length (1 sample, shorter than the padding, exactly n_fft...): the documented frame
    count and the STFT of the clip padded by `n_fft // 2` with numpy.pad's matching mode (as librosa pads)."""
    n_fft, hop, win = cfg
    x = data.draw(waves(length=lengths_around(n_fft), dtype=torch.float64))
    z = stft(x, n_fft, hop_length=hop, win_length=win, pad_mode=pad_mode)
    h, n = hop_of(n_fft, hop, win), x.shape[-1]
    assert z.shape == (*x.shape[:-1], n_fft // 2 + 1, centred_frames(n, n_fft, h)) and z.dtype == torch.complex128
    padded = np.pad(x.numpy(), [(0, 0), (0, 0), (n_fft // 2, n_fft // 2)], mode=PAD_MODES[pad_mode])
    window = torch.hann_window(win or n_fft, periodic=True, dtype=torch.float64)
    ref = torch.stft(torch.from_numpy(padded).reshape(-1, padded.shape[-1]), n_fft, h, win or n_fft, window,
                     center=False, return_complex=True).reshape(z.shape)
    torch.testing.assert_close(z, ref, rtol=0, atol=1e-9 * (1 + float(x.abs().max()) * n_fft))


@FAST
@given(cfg=stft_settings(), data=st.data(), power=st.sampled_from([0.5, 1.0, 2.0, 3.0]))
def test_spectrogram_is_finite_non_negative_float32(cfg, data, power):
    "spectrogram: float32 in, float32 out, finite and >= 0 (0 for silence), shape as stft, |stft|**power."
    n_fft, hop, win = cfg
    x = data.draw(waves(length=lengths_around(n_fft)))
    s = spectrogram(x, n_fft, hop_length=hop, win_length=win, power=power)
    assert_finite_float32(s)
    assert s.shape == (*x.shape[:-1], n_fft // 2 + 1, centred_frames(x.shape[-1], n_fft, hop_of(n_fft, hop, win)))
    assert (s >= 0).all()
    if not x.any(): assert not s.any()
    pw = stft(x.double(), n_fft, hop_length=hop, win_length=win).abs() ** 2          # compared as power: float32 FFT error ~1e-6 of the peak
    torch.testing.assert_close(s.double() ** (2 / power), pw, rtol=1e-3, atol=1e-5 * float(pw.max()))


@st.composite
def mel_settings(draw):
    "`(sr, n_fft, hop, n_mels, f_min, f_max)` within the documented ranges (0 <= f_min < f_max <= sr / 2, 1 Hz apart)."
    sr, n_fft = draw(st.sampled_from(RATES)), draw(st.integers(1, 512))
    f_min = draw(st.floats(0, sr / 2 - 1))
    f_max = draw(st.none() | st.floats(f_min + 1, sr / 2))
    return sr, n_fft, draw(st.integers(1, 2 * n_fft)), draw(st.integers(1, 64)), f_min, f_max


@FAST
@given(cfg=mel_settings(), htk=st.booleans(), norm=st.sampled_from(['slaney', None]))
def test_mel_filterbank_shape_and_support(cfg, htk, norm):
    """mel_filterbank: `(n_mels, n_fft // 2 + 1)` float32, finite, >= 0, no weight outside [f_min, f_max] Hz,
    and peaks of at most 1 without normalisation."""
    sr, n_fft, _, n_mels, f_min, f_max = cfg
    fb = mel_filterbank(sr, n_fft, n_mels=n_mels, f_min=f_min, f_max=f_max, htk=htk, norm=norm)
    assert fb.shape == (n_mels, n_fft // 2 + 1)
    assert_finite_float32(fb)
    assert (fb >= 0).all()
    hz = np.fft.rfftfreq(n_fft, 1 / sr)
    outside = (hz < f_min * (1 - 1e-6)) | (hz > (sr / 2 if f_max is None else f_max) * (1 + 1e-6))
    assert not fb[:, torch.from_numpy(outside)].any()
    if norm is None: assert float(fb.max()) <= 1 + 1e-6


@FAST
@given(cfg=mel_settings(), data=st.data())
def test_melspectrogram_and_mfcc_shapes_and_finite(cfg, data):
    """melspectrogram `(..., n_mels, frames)` >= 0 and mfcc `(..., n_mfcc, frames)`, float32 and finite for any
    clip, silence included (the dB floor keeps the log finite)."""
    sr, n_fft, hop, n_mels, f_min, f_max = cfg
    x = data.draw(waves(length=lengths_around(n_fft)))
    frames = centred_frames(x.shape[-1], n_fft, hop)
    m = melspectrogram(x, sr, n_fft, hop_length=hop, n_mels=n_mels, f_min=f_min, f_max=f_max)
    assert m.shape == (*x.shape[:-1], n_mels, frames) and (m >= 0).all()
    assert_finite_float32(m)
    n_mfcc = data.draw(st.integers(1, n_mels))
    c = mfcc(x, sr, n_mfcc=n_mfcc, n_mels=n_mels, n_fft=n_fft, hop_length=hop, f_min=f_min, f_max=f_max)
    assert c.shape == (*x.shape[:-1], n_mfcc, frames)
    assert_finite_float32(c)


@FAST
@given(n_mels=st.integers(1, 64), data=st.data())
def test_dct_matrix_rows_are_orthonormal(n_mels, data):
    "dct_matrix(norm='ortho'): `(n_mfcc, n_mels)` with orthonormal rows for any 1 <= n_mfcc <= n_mels."
    d = dct_matrix(data.draw(st.integers(1, n_mels)), n_mels).double()
    torch.testing.assert_close(d @ d.T, torch.eye(d.shape[0], dtype=torch.float64), atol=1e-5, rtol=0)


@st.composite
def power_specs(draw):
    "A non-negative `(batch, channels, freq, frames)` float32 tensor: random powers over 0-12 decades, or zeros."
    shape = tuple(draw(st.integers(1, n)) for n in (3, 2, 40, 50))
    rng = np.random.default_rng(draw(seeds))
    x = 10.0 ** rng.uniform(-draw(st.integers(0, 12)), 2, shape)
    if draw(st.booleans()): x[rng.random(shape) < 0.3] = 0.0              # exact zeros (silent bins)
    if draw(st.integers(0, 4)) == 0: x[:] = 0.0                           # all silent
    return torch.from_numpy(x.astype(np.float32))


@FAST
@given(x=power_specs(), stype=st.sampled_from(['power', 'magnitude']), top_db=st.none() | st.floats(0, 120),
       ref=st.sampled_from(['max', 1.0, 1e-3]), amin=st.none() | st.floats(1e-12, 1e-3))
def test_amplitude_to_db_is_finite_monotone_and_clipped_per_example(x, stype, top_db, ref, amin):
    """amplitude_to_db: finite (zeros too), same shape and dtype, order of the values kept; each spectrogram's own
    peak is 0 dB with ref='max' and nothing lies more than `top_db` under its own peak."""
    db = amplitude_to_db(x, stype, ref=ref, amin=amin, top_db=top_db)
    assert db.shape == x.shape
    assert_finite_float32(db)
    flat_x, flat_db = x.reshape(-1, x.shape[-2] * x.shape[-1]), db.reshape(-1, x.shape[-2] * x.shape[-1])
    for xi, di in zip(flat_x, flat_db):
        assert (di[xi.argsort()].diff() >= -1e-4).all(), 'dB does not keep the order of the values'
        if ref == 'max': assert float(di.max()) == 0.0
        if top_db is not None: assert float(di.min()) >= float(di.max()) - top_db - 1e-3


# --------------------------------------------------------------------------- spectrogram transforms
@st.composite
def front_ends(draw):
    "A `Spectrogram`, `MelSpectrogram` or `MFCC` with random settings, its rows per frame, and the batch rate."
    sr, n_fft, hop, n_mels, f_min, f_max = draw(mel_settings())
    hop, win = draw(st.none() | st.just(hop)), draw(st.none() | st.integers(1, n_fft))
    kw = dict(hop_length=hop, win_length=win, power=draw(st.sampled_from([1.0, 2.0])), center=draw(st.booleans()),
              pad_mode=draw(st.sampled_from(sorted(PAD_MODES))))
    kind = draw(st.sampled_from(['stft', 'mel', 'mfcc']))
    rate = draw(st.none() | st.just(sr))
    if kind == 'stft': return Spectrogram(n_fft, sr=rate, **kw), n_fft // 2 + 1, sr
    mel_kw = dict(n_mels=n_mels, f_min=f_min, f_max=f_max, htk=draw(st.booleans()), **kw)
    if kind == 'mel': return MelSpectrogram(rate, n_fft=n_fft, **mel_kw), n_mels, sr
    n_mfcc = draw(st.integers(1, n_mels))
    return MFCC(rate, n_mfcc=n_mfcc, n_fft=n_fft, ref=draw(st.sampled_from([1.0, 'max'])), **mel_kw), n_mfcc, sr


@FAST
@given(fe=front_ends(), data=st.data())
def test_spectrogram_transforms_shape_rate_lengths_finite(fe, data):
    """Spectrogram, MelSpectrogram, MFCC on `(batch, channels, samples)` batches: an `AudioSpectrogram`
    `(batch, channels, rows, frames)` float32, finite (silence too), frames by the documented rule (`n_frames`),
    settings at the batch's rate, padded batches' `lengths` turned into frames. Not centred, a clip shorter than
    n_fft is a ValueError naming n_fft."""
    tfm, rows, sr = fe
    x = data.draw(waves(length=lengths_around(tfm.n_fft)))
    b, c, n = x.shape
    lengths = data.draw(padded_lengths(b, n))
    if not tfm.center and n < tfm.n_fft:
        with pytest.raises(ValueError, match='n_fft'): tfm(audio(x, sr, lengths))
        return
    out = tfm(audio(x, sr, lengths))
    frames = centred_frames(n, tfm.n_fft, tfm.hop_length) if tfm.center else 1 + (n - tfm.n_fft) // tfm.hop_length
    assert isinstance(out, AudioSpectrogram) and out.shape == (b, c, rows, frames) and tfm.n_frames(n) == frames
    assert_finite_float32(out)
    assert out.settings.sample_rate == sr and out.settings.hop_length == tfm.hop_length and out.settings.n_fft == tfm.n_fft
    assert out.duration == pytest.approx(frames * tfm.hop_length / sr)
    if lengths is None: assert getattr(out, 'lengths', None) is None
    else:
        want = [min(max(centred_frames(int(l), tfm.n_fft, tfm.hop_length) if tfm.center
                        else 1 + (int(l) - tfm.n_fft) // tfm.hop_length, 1), frames) for l in lengths]
        assert out.lengths.tolist() == want


@FAST
@given(fe=front_ends(), data=st.data(), top_db=st.none() | st.floats(0, 120), ref=st.sampled_from(['max', 1.0]))
def test_amplitude_to_db_transform_keeps_metadata(fe, data, top_db, ref):
    """AmplitudeToDB after a power/magnitude front end: same shape, float32, finite (silence too), scale 'db',
    the rest of the settings and the `lengths` kept; a dB spectrogram (MFCC) goes through unchanged."""
    tfm, _, sr = fe
    assume(tfm.center)
    x = data.draw(waves(length=lengths_around(tfm.n_fft)))
    spec = tfm(audio(x, sr, data.draw(padded_lengths(x.shape[0], x.shape[-1]))))
    out = AmplitudeToDB(ref=ref, top_db=top_db)(spec)
    assert isinstance(out, AudioSpectrogram) and out.shape == spec.shape
    assert_finite_float32(out)
    assert out.settings.scale == 'db' and out.settings.sample_rate == sr and out.settings.kind == spec.settings.kind
    if hasattr(spec, 'lengths'): assert torch.equal(out.lengths, spec.lengths)
    if spec.settings.scale == 'db': assert torch.equal(out, spec)
    elif ref == 'max': assert (out.amax(dim=(1, 2, 3)) == 0).all()


@st.composite
def db_batches(draw):
    """An `AudioSpectrogram` `(batch, channels, freq, frames)` of dB-like values (some examples constant, as
    silence gives), shapes down to one bin and one frame, maybe with padded `lengths`."""
    b, c, f, t = (draw(st.integers(1, n)) for n in (3, 2, 20, 30))
    rng = np.random.default_rng(draw(seeds))
    x = rng.normal(draw(st.floats(-100, 20)), draw(st.floats(0, 30)), (b, c, f, t))
    for i in range(b):
        if draw(st.booleans()): x[i] = draw(st.floats(-100, 20))                       # a constant example
    spec = AudioSpectrogram(torch.from_numpy(x.astype(np.float32)), settings=None)
    lengths = draw(padded_lengths(b, t))
    if lengths is not None: spec.lengths = lengths
    return spec


@FAST
@given(spec=db_batches())
def test_spec_normalize_per_example(spec):
    """SpecNormalize(per_example=True): finite, same shape and dtype; over each example's real frames the mean
    is 0 and the standard deviation 1, or all zeros for a constant example (or a single value)."""
    out = SpecNormalize(per_example=True)(spec)
    assert out.shape == spec.shape
    assert_finite_float32(out)
    lengths = getattr(spec, 'lengths', torch.full((spec.shape[0],), spec.shape[-1]))
    for x, o, l in zip(spec, out, lengths.tolist()):
        x, o = x[..., :l].double(), o[..., :l].double()
        if float(x.max() - x.min()) == 0: assert float(o.abs().max()) == 0.0
        elif float(x.std()) > 1e-3 * (1 + float(x.abs().max())):            # not mere float32 rounding
            assert float(o.mean()) == pytest.approx(0, abs=1e-4) and float(o.std()) == pytest.approx(1, abs=1e-3)


@FAST
@given(spec=db_batches(), mean=st.floats(-100, 100), std=st.floats(0, 100))
def test_spec_normalize_dataset_statistics_round_trip(spec, mean, std):
    "SpecNormalize(mean, std): finite for any std >= 0 (0 too), and `decodes` gives the input back."
    norm = SpecNormalize(mean, std=std)
    out = norm(spec)
    assert_finite_float32(out)
    torch.testing.assert_close(norm.decode(out), spec, atol=1e-3 * (1 + abs(mean) + std), rtol=1e-4)


@FAST
@given(lengths=st.lists(st.integers(0, 40), min_size=1, max_size=5), n=st.integers(1, 40))
def test_length_mask_marks_the_first_lengths_frames(lengths, n):
    "length_mask: `(batch, n)` booleans, True exactly on the first min(length, n) frames of each example."
    m = length_mask(torch.tensor(lengths), n)
    assert m.shape == (len(lengths), n) and m.dtype == torch.bool
    for row, l in zip(m, lengths): assert row.tolist() == [i < l for i in range(n)]


@FAST
@given(spec=db_batches(), data=st.data())
def test_masked_mean_std_equals_statistics_of_the_real_frames(spec, data):
    "masked_mean_std: `(batch, 1, 1, 1)` mean and unbiased std of each example's first `lengths` frames."
    lengths = torch.tensor(data.draw(st.lists(st.integers(1, spec.shape[-1]), min_size=spec.shape[0],
                                              max_size=spec.shape[0])))
    mean, std = masked_mean_std(spec.as_subclass(torch.Tensor), length_mask(lengths, spec.shape[-1]))
    assert mean.shape == std.shape == (spec.shape[0], 1, 1, 1)
    for x, m, s, l in zip(spec.numpy(), mean, std, lengths.tolist()):
        real = x[..., :l].astype(np.float64)
        tol = 1e-5 * (1 + np.abs(real).max())
        assert float(m) == pytest.approx(real.mean(), abs=tol)
        assert float(s) == pytest.approx(real.std(ddof=1) if real.size > 1 else 0.0, abs=tol)


@FAST
@given(sr=st.sampled_from(RATES), data=st.data(), mfcc_n=st.none() | st.integers(1, 20),
       normalize=st.sampled_from(['example', None]), n_fft=st.sampled_from([64, 256, 1024]))
def test_frequency_batch_transforms_end_to_end(sr, data, mfcc_n, normalize, n_fft):
    """get_frequency_batch_transforms, in order on a batch: `(batch, channels, n_mels or mfcc, frames)` float32,
    finite for any clip (1 sample, silence...)."""
    tfms = get_frequency_batch_transforms(n_fft, hop_length=n_fft // 4, n_mels=40, sr=sr, normalize=normalize, mfcc=mfcc_n)
    x = data.draw(waves(length=lengths_around(n_fft)))
    out = audio(x, sr)
    for t in tfms: out = t(out)
    assert out.shape == (*x.shape[:2], mfcc_n or 40, 1 + x.shape[-1] // (n_fft // 4))
    assert_finite_float32(out)


# --------------------------------------------------------------------------- augmentation functions
@FAST
@given(x=waves(max_batch=4), data=st.data(), wrap=st.booleans())
def test_time_shift_is_a_roll_or_a_zero_filled_shift(x, data, wrap):
    "time_shift: each example moved by its own shift (any size); rolled around with `wrap`, else zero-filled."
    n = x.shape[-1]
    shifts = data.draw(st.lists(st.integers(-3 * n, 3 * n), min_size=x.shape[0], max_size=x.shape[0]))
    out = time_shift(x, torch.tensor(shifts), wrap=wrap)
    assert out.shape == x.shape and out.dtype == x.dtype
    for o, xi, s in zip(out, x, shifts):
        if wrap: want = torch.roll(xi, s, dims=-1)
        else:
            want = torch.zeros_like(xi)
            if abs(s) < n: want[..., max(s, 0):n + min(s, 0)] = xi[..., max(-s, 0):n - max(s, 0)]
        assert torch.equal(o, want)


@FAST
@given(x=waves(), db=st.floats(-60, 60))
def test_apply_gain_scales_by_10_to_db_over_20(x, db):
    "apply_gain: float32, x * 10**(db/20), and -db undoes +db."
    y = apply_gain(x, db)
    assert_finite_float32(y)
    torch.testing.assert_close(y.double(), x.double() * 10 ** (db / 20), rtol=1e-5, atol=1e-30)
    torch.testing.assert_close(apply_gain(y, -db), x, rtol=1e-4, atol=1e-6)


@FAST
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(1, 2048)),
       color=st.sampled_from(['white', 'pink', 'brown']))
def test_colored_noise_has_unit_power_for_any_length(shape, color):
    """colored_noise: float32 `shape`, finite, unit mean square along time; a 1-sample pink or brown noise, which
    has no frequency but DC (removed), is silent."""
    w = colored_noise(shape, color)
    assert w.shape == shape
    assert_finite_float32(w)
    power = w.double().square().mean(-1)
    if color != 'white' and shape[-1] == 1: assert not w.any()
    else: torch.testing.assert_close(power, torch.ones_like(power), rtol=1e-4, atol=0)


@FAST
@given(x=waves(), snr=st.floats(-20, 60), color=st.sampled_from(['white', 'pink', 'brown']), seed=seeds)
def test_add_noise_lands_on_the_snr_or_leaves_silence_alone(x, snr, color, seed):
    """add_noise / mix_at_snr: same shape, finite; per example 10 log10(P(x) / P(added)) = snr_db, and nothing
    added to a silent clip or when the noise itself is silent."""
    torch.manual_seed(seed)
    y = add_noise(x, snr, color)
    assert y.shape == x.shape
    assert_finite_float32(y)
    for xi, yi in zip(x.double(), y.double()):
        added = yi - xi
        if not xi.any() or (color != 'white' and x.shape[-1] == 1): assert not added.any()
        else: assert 10 * math.log10(xi.square().mean() / added.square().mean()) == pytest.approx(snr, abs=0.05)
    assert torch.equal(mix_at_snr(x, torch.zeros_like(x), snr), x)


@FAST
@given(x=waves(), sr=st.none() | st.sampled_from(RATES), g=st.floats(0, 4))
def test_frequency_filter_constant_gain_scales(x, sr, g):
    "frequency_filter with a flat gain `g` (any length, Hz or cycles per sample): the clip times `g`, float32."
    y = frequency_filter(x, lambda hz: torch.full_like(hz, g), sr)
    assert y.shape == x.shape
    assert_finite_float32(y)
    torch.testing.assert_close(y, x * g, rtol=1e-4, atol=1e-5 * (1 + float(x.abs().max()) * g))


@FAST
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(1, 20), st.integers(1, 30)),
       dim=st.sampled_from([-1, -2]), data=st.data(), value=st.floats(-5, 5))
def test_mask_along_sets_exactly_the_band(shape, dim, data, value):
    "mask_along: `value` exactly on [start, start + width) along `dim` of each example, the rest untouched."
    x = torch.randn(shape) + 10                               # never equal to value
    n = shape[dim]
    start = data.draw(st.lists(st.integers(0, n), min_size=shape[0], max_size=shape[0]))
    width = data.draw(st.lists(st.integers(0, n), min_size=shape[0], max_size=shape[0]))
    out = mask_along(x, dim, torch.tensor(start), torch.tensor(width), value)
    assert out.shape == x.shape
    for o, xi, s, w in zip(out, x, start, width):
        inside = torch.zeros(n, dtype=torch.bool)
        inside[s:s + w] = True
        inside = inside.reshape([-1 if d == len(shape) - 1 + dim else 1 for d in range(len(shape) - 1)])
        assert torch.equal(o, torch.where(inside, torch.tensor(value), xi))


@FAST
@given(n_freq=st.integers(1, 40), t=st.integers(1, 30), n_frames=st.integers(1, 60),
       rate=st.lists(st.floats(0.1, 4), min_size=1, max_size=3), hop=st.integers(1, 64))
def test_phase_vocoder_shape_and_silence_past_the_end(n_freq, t, n_frames, rate, hop):
    "phase_vocoder: `(batch, freq, n_frames)`, finite; output frame k is zero once k * rate is past the input."
    spec = torch.randn(len(rate), n_freq, t, dtype=torch.complex64)
    r = torch.tensor(rate)
    out = phase_vocoder(spec, r, n_frames, hop)
    assert out.shape == (len(rate), n_freq, n_frames) and torch.isfinite(torch.view_as_real(out)).all()
    past = torch.arange(n_frames)[None] * r[:, None] >= t
    assert not out.abs().masked_select(past[:, None].expand_as(out)).any()


@FAST
@given(n_fft=st.integers(1, 512), data=st.data())
def test_time_stretch_by_one_is_the_identity(n_fft, data):
    "time_stretch at rate 1 gives the clip back, for any n_fft (odd ones too) and any length (float64)."
    x = data.draw(waves(length=lengths_around(n_fft), dtype=torch.float64))
    y = time_stretch(x, 1.0, n_fft=n_fft)
    assert y.shape == x.shape and y.dtype == torch.float64
    torch.testing.assert_close(y, x, rtol=0, atol=1e-9 * (1 + float(x.abs().max())))


@FAST
@given(n_fft=st.integers(1, 512), data=st.data())
def test_time_stretch_and_pitch_shift_keep_shape_and_stay_finite(n_fft, data):
    """time_stretch (rate 0.5-2) and pitch_shift (-12 to 12 semitones), one value per example: shape and float32
    kept, finite, for any clip (1 sample, shorter than n_fft // 2...); silence stays silent; 0 semitones gives
    the clip back."""
    x = data.draw(waves(length=lengths_around(n_fft)))
    b = x.shape[0]
    rate = torch.tensor(data.draw(st.lists(st.floats(0.5, 2), min_size=b, max_size=b)))
    semis = torch.tensor(data.draw(st.lists(st.floats(-12, 12), min_size=b, max_size=b)))
    for y in (time_stretch(x, rate, n_fft=n_fft), pitch_shift(x, semis, n_fft=n_fft)):
        assert y.shape == x.shape
        assert_finite_float32(y)
        if not x.any(): assert not y.any()
    torch.testing.assert_close(pitch_shift(x, 0.0, n_fft=n_fft), x, rtol=0, atol=1e-3 * (1e-3 + float(x.abs().max())))


# --------------------------------------------------------------------------- augmentation transforms
@pytest.fixture(scope='module')
def background_dir(tmp_path_factory):
    "A folder with one short background clip (37 samples of noise at 16 kHz, looped and resampled when used)."
    d = tmp_path_factory.mktemp('background')
    sf.write(str(d / 'bg.wav'), np.random.default_rng(0).uniform(-0.5, 0.5, 37).astype(np.float32), 16000)
    return d


def waveform_augmentations(background):
    "Strategy: one of the waveform augmentations with random settings in their ranges, and a random `p`."
    p = st.floats(0, 1)
    pair = lambda lo, hi: st.tuples(st.floats(lo, hi), st.floats(lo, hi)).map(sorted)
    return st.one_of(
        st.builds(PitchShift, pair(-12, 12), p=p, n_fft=st.sampled_from([16, 255, 1024])),
        st.builds(TimeStretch, pair(0.5, 2), p=p, n_fft=st.sampled_from([16, 255, 1024])),
        st.builds(Gain, pair(-30, 30), p),
        st.builds(PolarityInversion, p),
        st.builds(TimeShift, st.floats(0, 1), wrap=st.booleans(), p=p),
        st.builds(AddNoise, pair(-10, 50), color=st.sampled_from(['white', 'pink', 'brown']), p=p),
        st.builds(AddBackground, st.just(background), pair(-10, 40), p=p),
        st.builds(RandomFilter, st.sampled_from([('lowpass',), ('highpass',), ('eq',), ('lowpass', 'highpass', 'eq')]),
                  cutoff=pair(20, 20000), eq_db=pair(-24, 24), order=st.integers(1, 8), p=p))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), sr=st.sampled_from(RATES), seed=seeds)
def test_waveform_augmentations_keep_shape_rate_lengths_and_p0_is_identity(background_dir, data, sr, seed):
    """Every waveform augmentation on a training batch: an `AudioTensor` of the same shape, float32, finite,
    at the same `sr`, with the same `lengths`; at p=0 and on validation batches it is the batch unchanged."""
    tfm = data.draw(waveform_augmentations(background_dir))
    x = data.draw(waves())
    lengths = data.draw(padded_lengths(x.shape[0], x.shape[-1]))
    batch = audio(x, sr, lengths)
    torch.manual_seed(seed)
    out = tfm(batch, split_idx=0)
    assert isinstance(out, AudioTensor) and out.shape == x.shape and out.sr == sr
    assert_finite_float32(out)
    if lengths is None: assert getattr(out, 'lengths', None) is None
    else: assert torch.equal(out.lengths, lengths)
    assert torch.equal(tfm(batch, split_idx=1), x)
    tfm.p = 0.0
    assert torch.equal(tfm(batch, split_idx=0), x)


@FAST
@given(db=st.floats(-30, 30), x=waves())
def test_gain_and_polarity_at_p1(db, x):
    "Gain((db, db), p=1) multiplies every clip by 10**(db/20); PolarityInversion(p=1) negates every clip."
    batch = audio(x, 16000)
    torch.testing.assert_close(Gain((db, db), p=1.0)(batch, split_idx=0).double(), x.double() * 10 ** (db / 20),
                               rtol=1e-5, atol=1e-30)
    assert torch.equal(PolarityInversion(p=1.0)(batch, split_idx=0), -x)


@FAST
@given(spec=db_batches(), mask=st.sampled_from([FrequencyMask, TimeMask]), lo=st.integers(0, 40),
       extra=st.integers(0, 40), n_masks=st.integers(0, 3), value=st.floats(-3, 3), p=st.floats(0, 1), seed=seeds)
def test_spectrogram_masks_set_whole_bands_and_keep_metadata(spec, mask, lo, extra, n_masks, value, p, seed):
    """FrequencyMask / TimeMask with any widths (wider than the axis too): same shape, finite, settings and
    lengths kept; every entry is its input or `value`, masked entries form whole rows (frequency) or columns
    (time), at most n_masks * width of them; p=0 and validation batches leave the batch unchanged."""
    spec = spec + 1000                                       # no input entry equals value
    tfm = mask((lo, lo + extra), n_masks, value, p)
    torch.manual_seed(seed)
    out = tfm(spec, split_idx=0)
    assert isinstance(out, AudioSpectrogram) and out.shape == spec.shape and out.settings == spec.settings
    assert_finite_float32(out)
    if hasattr(spec, 'lengths'): assert torch.equal(out.lengths, spec.lengths)
    masked = out != spec
    assert (out[masked] == value).all()
    dim = -2 if mask is FrequencyMask else -1
    other = -1 if dim == -2 else -2
    bands = masked.any(dim=other, keepdim=True)              # the masked rows (or columns) of each example
    assert torch.equal(masked, bands.expand_as(masked))
    assert int(bands.sum(dim=(-1, -2)).max()) <= n_masks * (lo + extra)
    assert torch.equal(tfm(spec, split_idx=1), spec)
    tfm.p = 0.0
    assert torch.equal(tfm(spec, split_idx=0), spec)


# --------------------------------------------------------------------------- invalid settings
def _clip(n=64): return torch.zeros(1, 1, n)


BAD_SETTINGS = [  # (parameter the message names, a strategy of bad values, how it is used)
    ('n_fft', st.integers(-5, 0) | st.just(2.5), lambda v: stft(_clip(), v)),
    ('hop_length', st.integers(-5, 0), lambda v: stft(_clip(), 16, hop_length=v)),
    ('win_length', st.integers(17, 40) | st.integers(-3, 0), lambda v: stft(_clip(), 16, hop_length=4, win_length=v)),
    ('pad_mode', st.sampled_from(['zeros', 'mirror', 'symmetric']), lambda v: stft(_clip(), 16, pad_mode=v)),
    ('n_fft', st.integers(17, 64), lambda v: stft(_clip(16), v, center=False)),
    ('power', st.floats(-3, 0) | st.just(math.nan), lambda v: spectrogram(_clip(), 16, power=v)),
    ('sr', st.integers(-8000, 0), lambda v: mel_filterbank(v, 64, n_mels=8)),
    ('n_mels', st.integers(-3, 0), lambda v: mel_filterbank(16000, 64, n_mels=v)),
    ('f_max', st.floats(8001, 1e5), lambda v: mel_filterbank(16000, 64, n_mels=8, f_max=v)),
    ('f_min', st.floats(4000, 1e5), lambda v: mel_filterbank(16000, 64, n_mels=8, f_min=v, f_max=4000.0)),
    ('f_max', st.just(5e-324), lambda v: mel_filterbank(16000, 64, n_mels=8, f_min=0.0, f_max=v)),   # edges coincide
    ('n_mfcc', st.integers(41, 80), lambda v: dct_matrix(v, 40)),
    ('stype', st.sampled_from(['db', 'energy', 'Power']), lambda v: amplitude_to_db(torch.ones(2, 2), v)),
    ('amin', st.floats(-1, 0), lambda v: amplitude_to_db(torch.ones(2, 2), amin=v)),
    ('top_db', st.floats(-100, -1e-3), lambda v: amplitude_to_db(torch.ones(2, 2), top_db=v)),
    ('ref', st.sampled_from(['min', 'mean', 'peak']), lambda v: amplitude_to_db(torch.ones(2, 2), ref=v)),
    ('power', st.floats(0.1, 5).filter(lambda v: v not in (1, 2)), lambda v: Spectrogram(power=v)),
    ('hop_length', st.integers(-5, 0), lambda v: Spectrogram(64, hop_length=v)),
    ('win_length', st.integers(65, 200), lambda v: Spectrogram(64, win_length=v)),
    ('sr', st.integers(-5, 0), lambda v: Spectrogram(sr=v)),
    ('n_mels', st.integers(-3, 0), lambda v: MelSpectrogram(16000, n_mels=v)),
    ('f_max', st.floats(8001, 1e5), lambda v: MelSpectrogram(16000, f_max=v)),
    ('n_mfcc', st.integers(41, 80), lambda v: MFCC(16000, n_mfcc=v, n_mels=40)),
    ('top_db', st.floats(-100, -1e-3), lambda v: AmplitudeToDB(top_db=v)),
    ('amin', st.floats(-1, 0), lambda v: AmplitudeToDB(amin=v)),
    ('normalize', st.sampled_from(['batch', 'yes']), lambda v: get_frequency_batch_transforms(normalize=v)),
    ('p', st.floats(1.001, 10) | st.floats(-10, -0.001), lambda v: Gain(p=v)),
    ('p', st.floats(1.001, 10) | st.floats(-10, -0.001), lambda v: TimeMask(p=v)),
    ('rate', st.floats(-2, 0), lambda v: TimeStretch((v, 1.0))),
    ('rate', st.floats(-2, 0), lambda v: time_stretch(_clip(), v)),
    ('semitones', st.sampled_from([math.nan, math.inf, -math.inf]), lambda v: PitchShift((v, 1.0))),
    ('semitones', st.sampled_from([math.nan, math.inf]), lambda v: pitch_shift(_clip(), v)),
    ('db', st.floats(1, 30), lambda v: Gain((v, -v))),
    ('max_shift', st.floats(-1, -1e-3), lambda v: TimeShift(v)),
    ('color', st.sampled_from(['blue', 'grey', 'White']), lambda v: AddNoise(color=v)),
    ('color', st.sampled_from(['blue', 'grey']), lambda v: colored_noise((1, 8), v)),
    ('snr_db', st.sampled_from([math.nan, math.inf]), lambda v: AddNoise((0.0, v))),
    ('cutoff', st.floats(-1000, 0), lambda v: RandomFilter(cutoff=(v, 1000.0))),
    ('kinds', st.sampled_from([('comb',), ('lowpass', 'notch')]), lambda v: RandomFilter(kinds=v)),
    ('order', st.integers(-2, 0), lambda v: RandomFilter(order=v)),
    ('width', st.integers(-5, -1), lambda v: FrequencyMask((v, 3))),
    ('width', st.floats(0.5, 3.5).filter(lambda v: v != int(v)), lambda v: TimeMask((0, v))),
    ('n_masks', st.integers(-3, -1), lambda v: TimeMask(n_masks=v)),
    ('mode', st.sampled_from(['end', 'middle']), lambda v: crop_pad(torch.zeros(1, 10), 5, mode=v)),
    ('pad', st.sampled_from(['reflect', 'edge']), lambda v: crop_pad(torch.zeros(1, 10), 15, pad=v)),
]


@pytest.mark.parametrize('name,bad,use', BAD_SETTINGS, ids=[f'{i}-{c[0]}' for i, c in enumerate(BAD_SETTINGS)])
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_bad_settings_raise_a_value_error_naming_them(name, bad, use, data):
    "Out-of-range settings raise a ValueError (never another error or a silent result) whose message names them."
    with pytest.raises(ValueError, match=rf'\b{re.escape(name)}\b'): use(data.draw(bad))
