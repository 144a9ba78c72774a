import librosa
import numpy as np
import pytest
import torch

from conftest import tone
from fastai_audio.core import AudioTensor
from fastai_audio.transforms.spectrogram import (MFCC, AmplitudeToDB, AudioSpectrogram, MelSpectrogram, SpecNormalize,
                                                 Spectrogram, get_frequency_batch_transforms)
from fastai_audio.runtime.functional import (amplitude_to_db, dct_matrix, mel_filterbank, melspectrogram, mfcc,
                                             spectrogram)

SR = 16000


@pytest.fixture(scope='module')
def clips():
    "Four random clips of 1.5 s: white noise, brown noise (steep spectrum), a tone with noise, a chirp."
    rng = np.random.default_rng(0)
    n = int(1.5 * SR)
    t = np.arange(n) / SR
    ys = [0.1 * rng.standard_normal(n), np.cumsum(rng.standard_normal(n)) * 1e-3,
          tone(523.0, SR, 1.5) + 1e-3 * rng.standard_normal(n), 0.3 * np.sin(2 * np.pi * (200 * t + 1500 * t ** 2))]
    return np.stack(ys).astype(np.float32)


def batch(y, sr=SR): return AudioTensor(torch.from_numpy(y)[:, None], sr=sr)


@pytest.mark.parametrize('kw', [dict(n_mels=40, fmin=0.0, fmax=None), dict(n_mels=128, fmin=20.0, fmax=8000.0),
                                dict(n_mels=64, fmin=50.0, fmax=7000.0, htk=True, norm=None)])
def test_mel_filterbank_equals_librosa(kw):
    ours = mel_filterbank(SR, 1024, n_mels=kw['n_mels'], f_min=kw['fmin'], f_max=kw['fmax'], htk=kw.get('htk', False), norm=kw.get('norm', 'slaney'))
    ref = librosa.filters.mel(sr=SR, n_fft=1024, **kw)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-5, atol=1e-8)


MEL_CONFIGS = [(1024, 256, 40, 0.0, None), (2048, 512, 128, 20.0, 8000.0), (400, 160, 64, 50.0, 7500.0)]


def librosa_log_mel(y, n_fft, hop, n_mels, fmin, fmax):
    S = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=n_fft, hop_length=hop, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return librosa.power_to_db(S, ref=np.max, top_db=80.0)


@pytest.mark.parametrize('n_fft,hop,n_mels,fmin,fmax', MEL_CONFIGS)
def test_log_mel_matches_librosa_within_1e3_db_on_random_clips(n_fft, hop, n_mels, fmin, fmax):
    "The float32 batch transform on random clips (8 noise clips, white to brown) against librosa."
    rng = np.random.default_rng(n_fft)
    white = rng.standard_normal((4, SR)) * rng.uniform(0.01, 0.5, (4, 1))
    brown = np.cumsum(rng.standard_normal((4, SR)), axis=1) * 1e-3
    y = np.concatenate([white, brown]).astype(np.float32)
    ours = AmplitudeToDB(ref='max', top_db=80.0)(MelSpectrogram(SR, n_fft=n_fft, hop_length=hop, n_mels=n_mels, f_min=fmin, f_max=fmax)(batch(y)))
    assert isinstance(ours, AudioSpectrogram) and ours.shape == (8, 1, n_mels, 1 + SR // hop)
    for yi, o in zip(y, ours):
        assert np.abs(o[0].numpy() - librosa_log_mel(yi, n_fft, hop, n_mels, fmin, fmax)).max() < 1e-3


@pytest.mark.parametrize('n_fft,hop,n_mels,fmin,fmax', MEL_CONFIGS)
def test_log_mel_algorithm_is_exact_in_float64(clips, n_fft, hop, n_mels, fmin, fmax):
    """In float64 (tones and chirps included, whose deepest bins sit 80 dB under the peak) the functions agree
    with librosa to 1e-5 dB. In float32, torch's FFT rounding shows in those deep bins of tonal clips: up to
    ~3e-3 dB (numpy's FFT, which librosa uses, computes in float64 internally)."""
    for y in clips.astype(np.float64):
        ours = amplitude_to_db(melspectrogram(torch.from_numpy(y), SR, n_fft, hop_length=hop, n_mels=n_mels, f_min=fmin, f_max=fmax))
        ref = librosa_log_mel(y, n_fft, hop, n_mels, fmin, fmax)
        assert np.abs(ours.numpy() - ref).max() < 1e-5
        f32 = amplitude_to_db(melspectrogram(torch.from_numpy(y.astype(np.float32)), SR, n_fft, hop_length=hop, n_mels=n_mels, f_min=fmin, f_max=fmax))
        assert np.abs(f32.numpy() - ref).max() < 5e-3


@pytest.mark.parametrize('power,pad_mode', [(1.0, 'constant'), (2.0, 'constant'), (1.0, 'reflect')])
def test_stft_matches_librosa(clips, power, pad_mode):
    ours = Spectrogram(n_fft=512, hop_length=128, power=power, pad_mode=pad_mode)(batch(clips))
    assert ours.shape == (4, 1, 257, 1 + clips.shape[1] // 128) and ours.settings.kind == 'linear'
    for y, o in zip(clips, ours):
        ref = np.abs(librosa.stft(y, n_fft=512, hop_length=128, pad_mode=pad_mode)) ** power
        np.testing.assert_allclose(o[0].numpy(), ref, rtol=1e-4, atol=1e-6 * ref.max())


def test_win_length_shorter_than_n_fft_matches_librosa(clips):
    ours = spectrogram(torch.from_numpy(clips), 1024, hop_length=160, win_length=400, power=1.0)
    ref = np.abs(librosa.stft(clips[0], n_fft=1024, hop_length=160, win_length=400))
    np.testing.assert_allclose(ours[0].numpy(), ref, rtol=1e-4, atol=1e-6 * ref.max())


def test_mfcc_matches_librosa(clips):
    ours = MFCC(SR, n_mfcc=20, n_fft=1024, hop_length=256, n_mels=40)(batch(clips))
    assert ours.shape == (4, 1, 20, 1 + clips.shape[1] // 256) and ours.settings.kind == 'mfcc'
    for y, o in zip(clips, ours):
        ref = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20, n_fft=1024, hop_length=256, n_mels=40)
        assert np.abs(o[0].numpy() - ref).max() < 1e-3
        ref64 = librosa.feature.mfcc(y=y.astype(np.float64), sr=SR, n_mfcc=20, n_fft=1024, hop_length=256, n_mels=40)
        exact = mfcc(torch.from_numpy(y.astype(np.float64)), SR, n_mfcc=20, n_mels=40, n_fft=1024, hop_length=256)
        assert np.abs(exact.numpy() - ref64).max() < 1e-5


def test_dct_is_orthonormal_and_matches_scipy():
    from scipy.fft import dct
    d = dct_matrix(40, 40).double()
    torch.testing.assert_close(d @ d.T, torch.eye(40, dtype=torch.float64), atol=1e-6, rtol=0)
    x = np.random.default_rng(1).standard_normal(40)
    np.testing.assert_allclose(dct_matrix(13, 40).double().numpy() @ x, dct(x, type=2, norm='ortho')[:13], atol=1e-5)


def test_db_reference_and_top_db_are_per_example(clips):
    loud = batch(clips[:1] * 10)
    quiet = batch(clips[1:2] * 1e-3)
    both = AudioTensor(torch.cat([loud, quiet]), sr=SR)
    mel = MelSpectrogram(SR, n_fft=1024, hop_length=256, n_mels=40)
    db = AmplitudeToDB(top_db=60.0)(mel(both))
    for i in range(2):
        assert float(db[i].max()) == pytest.approx(0.0, abs=1e-5)
        assert float(db[i].min()) >= -60.0 - 1e-4
    alone = AmplitudeToDB(top_db=60.0)(mel(quiet))
    torch.testing.assert_close(db[1:], alone, atol=1e-4, rtol=0)


def test_amplitude_to_db_fixed_reference_and_magnitude():
    x = torch.tensor([[1.0, 0.1, 0.01]])
    torch.testing.assert_close(amplitude_to_db(x, 'power', ref=1.0, top_db=None, dims=1), torch.tensor([[0., -10., -20.]]))
    torch.testing.assert_close(amplitude_to_db(x, 'magnitude', ref=1.0, top_db=None, dims=1), torch.tensor([[0., -20., -40.]]))
    torch.testing.assert_close(amplitude_to_db(x, 'magnitude', ref='max', top_db=30.0, dims=1), torch.tensor([[0., -20., -30.]]))


def test_tone_energy_lands_in_the_right_mel_band():
    y = tone(1000.0, SR, 1.0)[None]
    S = melspectrogram(torch.from_numpy(y), SR, n_fft=1024, hop_length=256, n_mels=40)
    centres = librosa.mel_frequencies(42, fmin=0, fmax=SR / 2)[1:-1]
    assert abs(centres[S[0, :, 10].argmax()] - 1000) < (centres[1:] - centres[:-1]).max()


def test_sample_rate_mismatch_is_a_clear_error(clips):
    with pytest.raises(ValueError, match='configured for sr=16000 Hz but the batch is at 22050 Hz'):
        MelSpectrogram(16000)(batch(clips, sr=22050))


def test_mel_without_sample_rate_builds_filterbank_from_batch(clips):
    torch.testing.assert_close(MelSpectrogram(None, n_fft=1024, hop_length=256, n_mels=40)(batch(clips, sr=22050)),
                               MelSpectrogram(22050, n_fft=1024, hop_length=256, n_mels=40)(batch(clips, sr=22050)))


def test_buffers_built_once_and_kept_per_device(clips):
    tfm = MelSpectrogram(SR, n_fft=1024, hop_length=256, n_mels=40)
    tfm(batch(clips))
    first = dict(tfm._bufcache)
    tfm(batch(clips))
    assert all(tfm._bufcache[k] is v for k, v in first.items())
    assert {k[0] for k in first} == {'stft_window', 'fbank'}


@pytest.mark.skipif(not torch.cuda.is_available(), reason='no GPU on this machine')
def test_runs_on_the_batchs_gpu(clips):
    tfms = get_frequency_batch_transforms(normalize=None)
    x = batch(clips).cuda()
    for t in tfms: x = t(x)
    assert x.device.type == 'cuda'
    cpu = batch(clips)
    for t in tfms: cpu = t(cpu)
    torch.testing.assert_close(x.cpu(), cpu, atol=1e-3, rtol=0)


def test_spec_normalize_dataset_and_per_example(clips):
    spec = AmplitudeToDB()(MelSpectrogram(SR, n_fft=1024, hop_length=256, n_mels=40)(batch(clips)))
    norm = SpecNormalize(mean=float(spec.mean()), std=float(spec.std()))
    out = norm(spec)
    assert float(out.mean()) == pytest.approx(0, abs=1e-5) and float(out.std()) == pytest.approx(1, abs=1e-3)
    torch.testing.assert_close(norm.decode(out), spec, atol=1e-3, rtol=0)
    per = SpecNormalize(per_example=True)(spec)
    for o in per:
        assert float(o.mean()) == pytest.approx(0, abs=1e-4) and float(o.std()) == pytest.approx(1, abs=1e-3)


def test_frequency_batch_transforms_options():
    tfms = get_frequency_batch_transforms(n_fft=512, hop_length=128, n_mels=32, sr=8000, f_min=20, f_max=3000)
    assert [type(t).__name__ for t in tfms] == ['MelSpectrogram', 'AmplitudeToDB', 'SpecNormalize']
    assert (tfms[0].n_fft, tfms[0].hop_length, tfms[0].n_mels, tfms[0].f_max) == (512, 128, 32, 3000)
    mf = get_frequency_batch_transforms(mfcc=13, normalize='example')
    assert isinstance(mf[0], MFCC) and mf[0].n_mfcc == 13 and mf[-1].per_example
    with pytest.raises(ValueError, match='normalize'):
        get_frequency_batch_transforms(normalize='yes')


def test_spectrogram_shows_time_and_hz_axes(clips):
    spec = AmplitudeToDB()(MelSpectrogram(SR, n_fft=1024, hop_length=256, n_mels=40)(batch(clips)))
    ax = spec[0].show()
    assert ax.get_xlabel() == 'time (s)' and 'Hz' in ax.get_ylabel()
    assert ax.get_xlim()[1] == pytest.approx(clips.shape[1] / SR, rel=0.02)
    assert MFCC(SR, n_mfcc=13, n_mels=40)(batch(clips))[0].show().get_ylabel() == 'coefficient'
