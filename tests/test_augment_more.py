"""The augmentations users of audiomentations expect, each against its physics: filter attenuation at a
frequency, an impulse response's decay time, a speed change's pitch and length, levels, harmonics, and the
choice rules of OneOf / SomeOf."""
import numpy as np
import pytest
import torch

from conftest import tone, write
from fastai_audio import (AudioTensor, Distortion, Gain, LevelNormalize, OneOf, PolarityInversion, RandomFilter,
                          Reverb, SomeOf, SpeedPerturb, TimeReversal, WaveformCutout, apply_impulse_response,
                          distort, filter_gain, frequency_filter, normalize_level, set_seed, speed_perturb,
                          synthetic_impulse_response)

SR = 16000


def gain_db(kind, f, **kw):
    "The measured gain in dB of a filter on a 1 s tone at `f` Hz (the middle half, away from the edges)."
    x = torch.from_numpy(tone(f, SR, 1.0))[None, None].double()
    y = frequency_filter(x, lambda hz: filter_gain(hz, kind, 1000.0, **kw), sr=SR)
    rms = lambda v: float(v[..., 4000:-4000].square().mean().sqrt())
    return 20 * np.log10(rms(y) / rms(x))


def peak_hz(y):
    spec = np.abs(np.fft.rfft(np.asarray(y) * np.hanning(len(y))))
    return np.fft.rfftfreq(len(y), 1 / SR)[spec.argmax()]


@pytest.mark.parametrize('kind,checks', [
    ('bandpass', [(1000, 0, 0.2), (707, -3, 0.3), (1414, -3, 0.3), (4000, -24, 1.0)]),
    ('bandstop', [(1000, -60, 60), (4000, 0, 0.3), (250, 0, 0.3), (1414, -3, 0.3)]),
    ('lowshelf', [(100, 6, 0.2), (1000, 3, 0.2), (6000, 0, 0.2)]),
    ('highshelf', [(100, 0, 0.2), (1000, 3, 0.2), (6000, 6, 0.2)]),
    ('eq', [(1000, 6, 0.1), (707, 3, 0.3), (7000, 0, 0.2)]),
])
def test_filters_attenuate_as_designed(kind, checks):
    for f, want, tol in checks:
        got = gain_db(kind, f, db=6.0, octaves=1.0)
        if kind == 'bandstop' and f == 1000: assert got < -40            # a notch at the centre
        else: assert got == pytest.approx(want, abs=tol), (kind, f, got)


def test_random_filter_takes_every_kind():
    x = AudioTensor(torch.from_numpy(np.stack([tone(1000.0, SR, 0.5)] * 8))[:, None], sr=SR)
    t = RandomFilter(kinds=('bandstop',), cutoff=(1000.0, 1000.0), p=1.0)
    y = t(x, split_idx=0)
    assert float(y[..., 2000:-2000].abs().max()) < 0.01 * float(x.abs().max())
    with pytest.raises(ValueError, match='unknown filter kinds'):
        RandomFilter(kinds=('comb',))


def _rt60(ir):
    "Decay time from the Schroeder backward integral: the -5 to -25 dB slope, extrapolated to 60 dB (T20 x 3)."
    edc = np.cumsum(ir[::-1] ** 2)[::-1]
    db = 10 * np.log10(edc / edc[0])
    t5, t25 = np.argmax(db <= -5), np.argmax(db <= -25)
    return 3 * (t25 - t5) / SR


@pytest.mark.parametrize('rt60', [0.3, 0.8])
def test_synthetic_impulse_response_decays_in_its_rt60(rt60):
    torch.manual_seed(0)
    ir = synthetic_impulse_response(int(1.5 * rt60 * SR), SR, rt60)[0].numpy()
    assert ir[0] == 1.0 and _rt60(ir) == pytest.approx(rt60, rel=0.15)


def test_convolution_with_an_impulse_response():
    torch.manual_seed(0)
    ir = synthetic_impulse_response(4000, SR, 0.2)
    click = torch.zeros(1, 1, 8000)
    click[..., 0] = 1.0
    y = apply_impulse_response(click, ir)
    np.testing.assert_allclose(y[0, 0, :4000] / y[0, 0, 0], ir[0] / ir[0, 0], atol=1e-5)   # the IR itself
    x = torch.from_numpy(tone(440.0, SR, 0.5))[None, None]
    wet = apply_impulse_response(x, ir)
    assert wet.shape == x.shape and float(wet.square().mean()) == pytest.approx(float(x.square().mean()), rel=1e-4)


def test_reverb_reads_impulse_responses_from_a_folder(tmp_path):
    ir = np.zeros(800, np.float32)
    ir[0], ir[400] = 1.0, 0.5                                              # a direct path and one echo at 25 ms
    write(tmp_path / 'room.wav', ir, SR)
    click = torch.zeros(2, 1, 4000)
    click[:, :, 100] = 1.0
    y = Reverb(tmp_path, p=1.0)(AudioTensor(click, sr=SR), split_idx=0)
    peaks = torch.topk(y[0, 0].abs(), 2).indices.sort().values.tolist()
    assert peaks == [100, 500] and float(y[0, 0, 500] / y[0, 0, 100]) == pytest.approx(0.5, abs=0.01)
    set_seed(0)
    syn = Reverb(rt60=(0.5, 0.5), p=1.0)(AudioTensor(click, sr=SR), split_idx=0)
    assert (syn[0, 0, 101:] != 0).any()                                    # a tail after the click


def test_speed_perturbation_changes_pitch_and_length_together():
    x = torch.from_numpy(tone(440.0, SR, 1.0))[None, None]
    y = speed_perturb(x, torch.tensor([1.25]))[0, 0].numpy()
    end = int(SR / 1.25)
    assert peak_hz(y[:end]) == pytest.approx(550.0, abs=2) and np.abs(y[end + 40:]).max() < 1e-3
    slow = speed_perturb(x, 0.8)[0, 0].numpy()
    assert peak_hz(slow) == pytest.approx(352.0, abs=2) and slow.shape == (SR,)
    t = SpeedPerturb((1.25, 1.25), p=1.0)(AudioTensor(x, sr=SR), split_idx=0)
    np.testing.assert_allclose(t[0, 0].numpy(), y, atol=1e-6)


def test_level_normalisation_peak_and_rms():
    x = torch.from_numpy(np.stack([tone(300.0, SR, 0.3, amp=a) for a in (0.01, 0.5)]))[:, None]
    peak = normalize_level(x, -6.0, 'peak')
    np.testing.assert_allclose(peak.abs().amax((1, 2)).numpy(), 10 ** (-6 / 20), rtol=1e-5)
    rms = normalize_level(x, torch.tensor([-20.0, -10.0]), 'rms')
    np.testing.assert_allclose(20 * np.log10(rms.square().mean((1, 2)).sqrt().numpy()), [-20, -10], atol=1e-4)
    assert torch.equal(normalize_level(torch.zeros(1, 1, 10), -3.0), torch.zeros(1, 1, 10))
    y = LevelNormalize(-3.0, p=1.0)(AudioTensor(x, sr=SR), split_idx=0)
    np.testing.assert_allclose(y.abs().amax((1, 2)).numpy(), 10 ** (-3 / 20), rtol=1e-5)


def test_distortion_adds_odd_harmonics_and_keeps_the_peak():
    x = torch.from_numpy(tone(500.0, SR, 1.0))[None, None]
    spec = lambda y: np.abs(np.fft.rfft(y[0, 0].numpy()))                  # 1 Hz bins: harmonics at k * 500
    for kind in ('clip', 'tanh'):
        soft, hard = distort(x, 3.0, kind), distort(x, 18.0, kind)
        assert float(hard.abs().max()) == pytest.approx(float(x.abs().max()), rel=1e-5)
        h3 = lambda y: spec(y)[1500] / spec(y)[500]
        assert h3(hard) > h3(soft) > 1e-3 > h3(x)                           # the 3rd harmonic grows with drive
        assert spec(hard)[1000] / spec(hard)[500] < 1e-4                     # odd symmetric: no 2nd harmonic
    assert float(distort(x, 12.0, 'clip').abs().max()) == pytest.approx(0.5, rel=1e-5)
    y = Distortion((6.0, 6.0), p=1.0)(AudioTensor(x.repeat(4, 1, 1), sr=SR), split_idx=0)
    assert y.shape == (4, 1, SR) and not torch.equal(y, x.repeat(4, 1, 1))


def test_time_reversal_and_cutout():
    x = torch.arange(100.0).reshape(1, 1, 100).repeat(3, 1, 1)
    assert torch.equal(TimeReversal(p=1.0)(AudioTensor(x, sr=SR), split_idx=0), x.flip(-1))
    set_seed(0)
    y = WaveformCutout((0.2, 0.2), p=1.0)(AudioTensor(x + 1, sr=SR), split_idx=0)
    assert ((y == 0).sum(-1) == 20).all()                                  # one run of 20 silent samples each
    runs = [torch.nonzero(r[0] == 0).flatten() for r in y]
    assert all(int(r[-1] - r[0]) == 19 for r in runs)
    kept = y != 0
    assert torch.equal(y[kept], (x + 1)[kept])


def test_one_of_follows_its_weights_and_some_of_picks_k():
    set_seed(0)
    x = AudioTensor(torch.ones(400, 1, 8), sr=SR)
    y = OneOf([Gain((6.0, 6.0)), PolarityInversion()], weights=(3, 1), p=1.0)(x, split_idx=0)
    louder, flipped = (y[:, 0, 0] > 1.5).float().mean(), (y[:, 0, 0] < 0).float().mean()
    assert louder + flipped == 1 and float(louder) == pytest.approx(0.75, abs=0.07)
    assert float(OneOf([Gain((6.0, 6.0)), PolarityInversion()], weights=(1, 0))(x, split_idx=0)[:, 0, 0].min()) > 1.5
    y = SomeOf([Gain((6.0, 6.0)), PolarityInversion(), Gain((-20.0, -20.0))], k=2, p=1.0)(x, split_idx=0)
    v = y[:, 0, 0]
    combos = {round(float(a), 3) for a in v}                                # each pair gives one value
    pairs = {round(10 ** (6 / 20), 3) * -1, round(10 ** (-14 / 20), 3), round(-10 ** (-20 / 20), 3)}
    assert combos <= pairs and len(combos) == 3
    with pytest.raises(ValueError, match='k must be'):
        SomeOf([Gain()], k=2)


def test_background_streamed_from_long_files_reads_only_the_segments(tmp_path, monkeypatch):
    import fastai_audio.transforms.augment as aug
    from fastai_audio import AddBackground
    rng = np.random.default_rng(0)
    write(tmp_path / 'long.wav', (0.1 * rng.standard_normal(SR * 30)).astype(np.float32), SR)   # 30 s of noise
    reads = []
    real = aug.load_audio
    monkeypatch.setattr(aug, 'load_audio', lambda f, **kw: reads.append(kw) or real(f, **kw))
    x = AudioTensor(torch.from_numpy(np.stack([tone(440.0, SR, 0.5)] * 3))[:, None], sr=SR)
    set_seed(0)
    y = AddBackground(tmp_path, snr_db=(10.0, 10.0), p=1.0, in_memory=False)(x, split_idx=0)
    assert len(reads) == 3 and all(r['duration'] == pytest.approx(0.5) and 0 <= r['offset'] <= 29.5 for r in reads)
    noise = (y - x).as_subclass(torch.Tensor)
    snr = 10 * torch.log10(x.as_subclass(torch.Tensor).square().mean((1, 2)) / noise.square().mean((1, 2)))
    np.testing.assert_allclose(snr.numpy(), 10.0, atol=1e-3)


@pytest.mark.parametrize('in_memory', [True, False])
def test_short_noise_events_sit_in_their_span_at_their_snr(tmp_path, in_memory):
    "One 0.1 s event a clip: nothing changes outside it, the noise over its span is at the SNR asked for."
    from fastai_audio import AddBackground
    rng = np.random.default_rng(1)
    write(tmp_path / 'noise.wav', (0.1 * rng.standard_normal(SR * 2)).astype(np.float32), SR)
    x = AudioTensor(torch.from_numpy(np.stack([tone(440.0, SR, 1.0)] * 4))[:, None], sr=SR)
    set_seed(0)
    y = AddBackground(tmp_path, snr_db=(0.0, 0.0), p=1.0, in_memory=in_memory, event_duration=(0.1, 0.1),
                      fade=0.0)(x, split_idx=0)
    noise = (y - x).as_subclass(torch.Tensor)[:, 0]
    clean = x.as_subclass(torch.Tensor)[:, 0]
    for row, c in zip(noise, clean):
        where = torch.nonzero(row).flatten()
        assert int(where[-1] - where[0]) + 1 == pytest.approx(0.1 * SR, abs=2)         # one span of 0.1 s
        span = row[where[0]:where[-1] + 1]
        snr = 10 * torch.log10(c.square().mean() / span.square().mean())
        assert float(snr) == pytest.approx(0.0, abs=1e-3)
    starts = [int(torch.nonzero(r).flatten()[0]) for r in noise]
    assert len(set(starts)) > 1                                                       # a random place per clip


def test_event_envelope_fades_with_a_raised_cosine():
    from fastai_audio import event_envelope
    env = event_envelope(100, torch.tensor([10]), torch.tensor([40]), fade_length=8)[0]
    assert float(env[:10].abs().max()) == 0 and float(env[50:].abs().max()) == 0
    torch.testing.assert_close(env[18:42], torch.ones(24))
    assert torch.all(env[10:18].diff() > 0) and torch.all(env[42:50].diff() < 0)
    torch.testing.assert_close(env[10:18], env[42:50].flip(0))                       # symmetric ramps
