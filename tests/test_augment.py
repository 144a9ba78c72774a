import librosa
import numpy as np
import pytest
import torch

from conftest import tone, write
from fastai_audio import (AddBackground, AddNoise, AudioItemList, AudioSpectrogram, AudioTensor, CutMix,
                          FrequencyMask, Gain, MixUp, NSYNTH_PATTERN, PitchShift, PolarityInversion, RandomFilter,
                          TimeMask, TimeShift, accuracy, audio_aug_transforms, FULL_PRESET, colored_noise, create_cnn,
                          get_frequency_batch_transforms, models, pitch_shift, set_seed, time_shift, time_stretch)

SR = 16000


def peak_hz(y, sr=SR):
    spec = np.abs(np.fft.rfft(np.asarray(y) * np.hanning(len(y))))
    return np.fft.rfftfreq(len(y), 1 / sr)[spec.argmax()]


def batch(*ys): return AudioTensor(torch.from_numpy(np.stack(ys))[:, None], sr=SR)


def train(tfm, x):
    "Apply a batch transform as on a training batch."
    return tfm(x, split_idx=0)


def test_pitch_shift_octave_up_and_down_keeps_length():
    x = batch(tone(440), tone(440), tone(440))
    y = pitch_shift(x.as_subclass(torch.Tensor), torch.tensor([12.0, -12.0, 7.0]))
    assert y.shape == x.shape
    assert peak_hz(y[0, 0]) == pytest.approx(880, rel=0.01)
    assert peak_hz(y[1, 0]) == pytest.approx(220, rel=0.01)
    assert peak_hz(y[2, 0]) == pytest.approx(440 * 2 ** (7 / 12), rel=0.01)
    out = train(PitchShift((12, 12), p=1.0), x)
    assert isinstance(out, AudioTensor) and out.sr == SR and out.shape == x.shape
    assert peak_hz(out[0, 0]) == pytest.approx(880, rel=0.01)


@pytest.mark.parametrize('semitones', [5.0, -5.0, 12.0])
def test_pitch_shift_leaves_no_images(semitones):
    "Band-limited resampling keeps all but the shifted tone 55 dB down (linear interpolation measured -40 and -32 dB at +5 and -5)."
    y = pitch_shift(torch.from_numpy(tone(2000.0))[None, None], semitones)[0, 0].numpy()[2000:-2000]
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    f = np.fft.rfftfreq(len(y), 1 / SR)
    near = np.abs(f - 2000.0 * 2 ** (semitones / 12)) < 100
    assert 10 * np.log10(spec[~near].sum() / spec.sum()) < -55


def _click_centroids(y, expected):
    "Energy centroids (samples) of the two clicks expected near `expected`, each in its own half-way window."
    e = np.asarray(y) ** 2
    mid = int(sum(expected) / 2)
    idx = np.arange(len(e))
    a, b = slice(0, mid), slice(mid, min(len(e), int(expected[1] + (expected[1] - expected[0]) / 2)))
    return [float((idx[s] * e[s]).sum() / e[s].sum()) for s in (a, b)]


def test_time_stretch_rate_2_halves_the_time_between_clicks():
    c = np.zeros(2 * SR, np.float32)
    c[8000] = c[24000] = 1.0
    y = time_stretch(torch.from_numpy(c)[None, None], 2.0, n_fft=256)[0, 0]
    assert y.shape == (2 * SR,)
    a, b = _click_centroids(y, (4000, 12000))
    assert b - a == pytest.approx(8000, rel=0.02)
    assert float(y[14000:].abs().max()) < 1e-3                   # the rest is zero padding
    slow = time_stretch(torch.from_numpy(c)[None, None], 0.5, n_fft=256)[0, 0]
    e = slow[:24000].numpy() ** 2
    assert slow.shape == (2 * SR,) and (np.arange(24000) * e).sum() / e.sum() == pytest.approx(16000, abs=200)


def test_time_stretch_matches_librosa_phase_vocoder():
    "At n_fft 1024 a vocoder smears clicks over its window; ours places them where librosa's does."
    c = np.zeros(2 * SR, np.float32)
    c[8000] = c[16000] = 1.0
    for rate in (2.0, 1.25):
        ours = time_stretch(torch.from_numpy(c)[None, None], rate, n_fft=1024)[0, 0].numpy()
        ref = librosa.effects.time_stretch(c, rate=rate, n_fft=1024, hop_length=256)
        exp = (8000 / rate, 16000 / rate)
        np.testing.assert_allclose(_click_centroids(ours, exp), _click_centroids(ref, exp), atol=20)


def test_time_stretch_keeps_pitch():
    y = time_stretch(torch.from_numpy(tone(440))[None, None], 1.25)[0, 0]
    assert peak_hz(y[:12000]) == pytest.approx(440, rel=0.01)


def test_gain_6db_doubles_amplitude_and_polarity_flips():
    x = batch(tone(440, amp=0.1))
    y = train(Gain((6.0, 6.0), p=1.0), x)
    assert float(y.abs().max() / x.abs().max()) == pytest.approx(10 ** (6 / 20), rel=1e-4)   # 1.995
    torch.testing.assert_close(train(PolarityInversion(p=1.0), x), -x)


def test_time_shift_roll_and_zero_fill():
    x = torch.arange(8.)[None, None].repeat(2, 1, 1)
    assert time_shift(x, torch.tensor([2, -1])).tolist() == [[[6, 7, 0, 1, 2, 3, 4, 5]], [[1, 2, 3, 4, 5, 6, 7, 0]]]
    assert time_shift(x, torch.tensor([2, -1]), wrap=False).tolist() == [[[0, 0, 0, 1, 2, 3, 4, 5]], [[1, 2, 3, 4, 5, 6, 7, 0]]]
    out = train(TimeShift(0.25, p=1.0), AudioTensor(x, sr=SR))
    assert sorted(out[0, 0].tolist()) == list(range(8))


@pytest.mark.parametrize('color', ['white', 'pink', 'brown'])
def test_add_noise_lands_on_the_asked_snr(color):
    x = batch(tone(440), tone(1000, amp=0.05), tone(3000, amp=0.9))
    set_seed(0)
    y = train(AddNoise((5.0, 25.0), color=color, p=1.0), x)
    noise = (y - x).as_subclass(torch.Tensor)
    snr = 10 * torch.log10(x.pow(2).mean((1, 2)) / noise.pow(2).mean((1, 2)))
    set_seed(0)
    torch.rand(3)                                              # the draw of who is picked
    asked = 5.0 + 20.0 * torch.rand(3)
    torch.testing.assert_close(snr.as_subclass(torch.Tensor), asked, atol=0.5, rtol=0)


def test_noise_colors_have_their_slopes():
    n = colored_noise((8, 1 << 15), 'pink')
    p = (torch.fft.rfft(n).abs() ** 2).mean(0)
    f = torch.fft.rfftfreq(1 << 15)
    lo, hi = p[(f > 0.01) & (f < 0.02)].mean(), p[(f > 0.1) & (f < 0.2)].mean()
    assert 10 * torch.log10(lo / hi) == pytest.approx(10.0, abs=1.5)          # 1/f: 10 dB per decade
    b = colored_noise((8, 1 << 15), 'brown')
    pb = (torch.fft.rfft(b).abs() ** 2).mean(0)
    assert 10 * torch.log10(pb[(f > 0.01) & (f < 0.02)].mean() / pb[(f > 0.1) & (f < 0.2)].mean()) == pytest.approx(20.0, abs=1.5)


def test_background_mixing_at_snr(tmp_path):
    write(tmp_path / 'hum.wav', tone(60, SR, 0.3, amp=0.2), SR)
    x = batch(tone(1000), tone(2000, amp=0.1))
    y = train(AddBackground(tmp_path, snr_db=(10.0, 10.0), p=1.0), x)
    bg = (y - x).as_subclass(torch.Tensor)
    snr = 10 * torch.log10(x.pow(2).mean((1, 2)) / bg.pow(2).mean((1, 2)))
    torch.testing.assert_close(snr.as_subclass(torch.Tensor), torch.tensor([10.0, 10.0]), atol=0.5, rtol=0)
    assert peak_hz(bg[0, 0]) == pytest.approx(60, abs=2)
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no audio files'):
        AddBackground(tmp_path / 'empty')


def test_random_filter_kinds_do_what_they_say():
    x = batch(tone(200, amp=0.3) + tone(6000, amp=0.3))
    set_seed(1)
    low = train(RandomFilter(kinds=('lowpass',), cutoff=(1000.0, 1000.0), order=4, p=1.0), x)[0, 0].numpy()
    high = train(RandomFilter(kinds=('highpass',), cutoff=(1000.0, 1000.0), order=4, p=1.0), x)[0, 0].numpy()
    spec = lambda y: np.abs(np.fft.rfft(y))
    s0, sl, sh = spec(x[0, 0].numpy()), spec(low), spec(high)
    butter = lambda r: 1 / np.sqrt(1 + r ** 8)                 # order 4: |H| at f / fc = r
    assert sl[6000] / s0[6000] == pytest.approx(butter(6.0), rel=0.01)            # -62 dB
    assert sl[200] / s0[200] == pytest.approx(butter(0.2), rel=0.001)
    assert sh[200] / s0[200] == pytest.approx(0.2 ** 4 * butter(0.2), rel=0.01)   # -56 dB
    assert sh[6000] / s0[6000] == pytest.approx(6.0 ** 4 * butter(6.0), rel=0.001)
    eq = train(RandomFilter(kinds=('eq',), cutoff=(200.0, 200.0), eq_db=(6.0, 6.0), p=1.0), x)[0, 0].numpy()
    assert spec(eq)[200] / s0[200] == pytest.approx(10 ** (6 / 20), rel=1e-3)


def test_masks_fill_the_bins_they_claim_with_the_mean_level():
    spec = AudioSpectrogram(torch.randn(4, 1, 40, 100) * torch.tensor([1., 2, 3, 4])[:, None, None, None] - 40,
                            settings=None)                          # dB-like, unnormalised: 0 would be loud
    fm = train(FrequencyMask(width=(7, 7), n_masks=2), spec)
    assert isinstance(fm, AudioSpectrogram)
    for o, s in zip(fm, spec):                                     # each example's own mean, before any mask
        filled = o[0] == s.mean()
        assert 7 <= int(filled.all(dim=1).sum()) <= 14 and int(filled.sum()) == 100 * int(filled.all(dim=1).sum())
    with pytest.raises(ValueError, match='mean'): FrequencyMask(value='median')
    fm = train(FrequencyMask(width=(7, 7), n_masks=1, value=0.0), spec)
    for o in fm: assert int((o[0] == 0).all(dim=1).sum()) == 7 and int((o[0] == 0).sum()) == 7 * 100
    tm = train(TimeMask(width=(13, 13), n_masks=1, value=-1.0), spec)
    for o in tm: assert int((o[0] == -1).all(dim=0).sum()) == 13 and int((o[0] == -1).sum()) == 13 * 40
    torch.testing.assert_close(FrequencyMask(width=(7, 7))(spec, split_idx=1), spec)


def test_waveform_augmentations_leave_spectrograms_alone_and_vice_versa():
    spec = AudioSpectrogram(torch.randn(2, 1, 40, 10), settings=None)
    torch.testing.assert_close(train(Gain((6, 6), p=1.0), spec), spec)
    x = batch(tone(), tone())
    torch.testing.assert_close(train(TimeMask(width=(5, 5)), x), x)


@pytest.fixture(scope='module')
def aug_dls(synth_path):
    tfms = audio_aug_transforms(p=1.0, **FULL_PRESET) + get_frequency_batch_transforms()
    return (AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
            .databunch(bs=8, tfms=tfms, num_workers=0, shuffle=False))


def test_preset_order_waveforms_before_spectrogram_masks_after(aug_dls):
    names = [type(t).__name__ for t in aug_dls.after_batch.fs]
    assert names.index('PitchShift') < names.index('MelSpectrogram') < names.index('SpecNormalize') < names.index('TimeMask')
    assert {'TimeStretch', 'Gain', 'AddNoise', 'TimeShift', 'RandomFilter', 'FrequencyMask'} <= set(names)


def test_validation_is_untouched_and_seed_reproduces(aug_dls, classic_dls):
    v_aug = aug_dls.valid.one_batch()[0]
    plain = classic_dls.valid.new(shuffle=False).one_batch()[0]
    norm_aug = [t for t in aug_dls.after_batch.fs if type(t).__name__ == 'SpecNormalize'][0]
    norm = [t for t in classic_dls.after_batch.fs if type(t).__name__ == 'SpecNormalize'][0]
    torch.testing.assert_close(norm_aug.decode(v_aug), norm.decode(plain), atol=1e-3, rtol=0)
    set_seed(0)
    a = aug_dls.train.one_batch()[0]
    set_seed(0)
    b = aug_dls.train.one_batch()[0]
    torch.testing.assert_close(a, b)
    set_seed(1)
    assert not torch.equal(aug_dls.train.one_batch()[0], a)


@pytest.mark.parametrize('cb', [MixUp, CutMix])
def test_fastai_mixup_and_cutmix_train_on_spectrograms(classic_dls, cb):
    learn = create_cnn(classic_dls, models.resnet18, pretrained=False, metrics=accuracy, cbs=cb())
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    assert np.isfinite(learn.recorder.losses[-1].item())
    learn.remove_cb(cb)
    x, _ = classic_dls.one_batch()
    assert isinstance(x, AudioSpectrogram)


def test_inference_is_never_augmented(aug_dls, synth_path):
    "predict goes through the validation-side pipeline: the same file gives the same scores every time."
    learn = create_cnn(aug_dls, models.resnet18, pretrained=False)
    f = sorted((synth_path / 'valid').glob('*.wav'))[0]
    set_seed(0)
    first = learn.predict(f)[2]
    set_seed(1)
    assert torch.equal(learn.predict(f)[2], first)


def test_no_batch_augmentation_reads_values_back_to_the_host(tmp_path, monkeypatch):
    """On a GPU each `.item()`, `.tolist()` or tensor-valued `if` stalls the pipeline until the device catches up.
    Here every such read of a tensor is made an error while each augmentation runs on a batch (p=1)."""
    from conftest import write
    from fastai_audio import (CLASSIC_2018, AudioSpectrogram, AudioTensor, Distortion, LevelNormalize, OneOf,
                              PolarityInversion, Reverb, SomeOf, SpeedPerturb, TimeReversal, WaveformCutout)
    write(tmp_path / 'bg' / 'bg.wav', (tmp_path / 'bg').mkdir() or tone(200.0, 16000, 1.5), 16000)
    write(tmp_path / 'ir.wav', np.exp(-np.arange(800) / 100.0).astype(np.float32), 16000)
    kinds = ('lowpass', 'highpass', 'bandpass', 'bandstop', 'lowshelf', 'highshelf', 'eq')
    tfms = audio_aug_transforms(p=1.0, filter_p=1.0, background=tmp_path / 'bg', **FULL_PRESET) + [
        PolarityInversion(p=1.0), RandomFilter(kinds=kinds, p=1.0), Reverb(p=1.0), Reverb(tmp_path / 'ir.wav', p=1.0),
        SpeedPerturb(p=1.0), LevelNormalize(p=1.0), Distortion(p=1.0), TimeReversal(p=1.0), WaveformCutout(p=1.0),
        OneOf([Gain(p=1.0), SpeedPerturb()]), SomeOf([Gain(), TimeReversal(), Distortion()], k=(1, 3)),
        AddBackground(tmp_path / 'bg', p=1.0, event_duration=(0.05, 0.2))]
    x = AudioTensor(torch.from_numpy(np.stack([tone(300.0 * (i + 1), 16000, 0.5) for i in range(4)]))[:, None], sr=16000)
    mel = CLASSIC_2018.batch_tfms(normalize=None)
    spec = x
    for t in mel: spec = t(spec)
    assert isinstance(spec, AudioSpectrogram)
    for t in tfms:                                    # warm up: files read, constants built (allowed to read once)
        t(spec if t.order > 50 else x, split_idx=0)

    def refuse(name):
        def f(self, *a, **k): raise AssertionError(f'{name} on a tensor {tuple(self.shape)} inside a batch augmentation')
        return f
    for name in ('item', 'tolist', '__bool__', '__float__', '__int__'):
        monkeypatch.setattr(torch.Tensor, name, refuse(name))
    for t in tfms:
        out = t(spec if t.order > 50 else x, split_idx=0)
        assert out.shape == (spec if t.order > 50 else x).shape, type(t).__name__
