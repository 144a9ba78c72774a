"""The torch-only core: the FrontEnd description (typed, JSON round trip, errors naming the field), the kernels
(both STFT forms equal, one framing rule; each kernel defined once: tests/test_one_place.py), the module importable without fastai, and
the settings every reader takes from it (backbones, embedding cache, deprecated names)."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from fastai_audio import (CLASSIC_2018, PANNS, AudioEmbedder, AudioItemList, FrontEnd, FrontEndModule,
                          NSYNTH_PATTERN, audio_learner, frame_signal, get_frequency_batch_transforms, window_starts)
from fastai_audio.runtime.functional import (dft_basis, pad_signal, power_spectrum, spectrogram, stft_dft,
                                             window_function)

PACKAGE = Path(__file__).parent.parent / 'fastai_audio'


def test_description_round_trips_through_json_and_names_bad_fields():
    fe = CLASSIC_2018.replace(kind='mfcc', n_mfcc=13, pad_mode='replicate', mean=-3.5, std=12.0)
    d = json.loads(json.dumps(fe.to_dict()))
    assert d['format_version'] == 3 and FrontEnd.from_dict(d) == fe
    with pytest.raises(ValueError, match="no field 'hop'"):
        FrontEnd.from_dict({**d, 'hop': 256})
    with pytest.raises(ValueError, match='newer'):
        FrontEnd.from_dict({**d, 'format_version': 99})
    for field, value in [('pad_mode', 'mirror'), ('kind', 'cqt'), ('power', 3.0), ('ref', 'min'), ('top_db', -1),
                         ('normalize', 'batch'), ('window_fn', 'kaiser'), ('n_mfcc', 41)]:
        with pytest.raises(ValueError, match=f'FrontEnd.{field} must be'):
            CLASSIC_2018.replace(**{field: value, **({'kind': 'mfcc'} if field == 'n_mfcc' else {})})
    with pytest.raises(ValueError, match='to_db'):
        CLASSIC_2018.replace(kind='mfcc', to_db=False)


def test_derived_facts_follow_the_description():
    fe = FrontEnd(sample_rate=16000, n_fft=512)
    assert (fe.win_length, fe.hop_length) == (512, 128)                       # defaults resolved, written down
    wide = fe.replace(n_fft=1024)
    assert (wide.win_length, wide.hop_length) == (1024, 256)                  # defaults follow n_fft
    assert fe.replace(n_fft=1024, hop_length=100).hop_length == 100
    assert fe.n_frames(16000) == 1 + 16000 // 128 and fe.samples(0.25) == 4000
    with pytest.raises(TypeError, match=r'fe\.samples\(seconds\)'): fe.n_frames(1.0)   # seconds: 0.1's meaning, refused
    assert fe.n_rows == 128 and fe.replace(kind='linear').n_rows == 257 and fe.scale == 'normalized'
    assert fe.replace(normalize=None).scale == 'db' and fe.replace(normalize=None, to_db=False, power=1.0).scale == 'magnitude'


@pytest.mark.parametrize('center,pad_mode,win_length,window_fn', [
    (True, 'constant', None, 'hann'), (True, 'reflect', 300, 'hann'), (True, 'replicate', None, 'hamming'),
    (True, 'circular', 257, 'rectangular'), (False, 'constant', 400, 'hann')])
def test_the_two_stft_forms_agree(center, pad_mode, win_length, window_fn):
    "torch.stft (training) and the DFT-basis convolution (export) give the same spectrogram."
    x = torch.randn(3, 2, 4000, dtype=torch.float64)
    n_fft, hop = 512, 160
    win = window_function(window_fn, win_length or n_fft)
    want = spectrogram(x, n_fft, hop_length=hop, win_length=win_length, window=win, center=center, pad_mode=pad_mode, power=2.0)
    got = power_spectrum(*stft_dft(x, dft_basis(n_fft, win), hop, center=center, pad_mode=pad_mode), 2.0)
    torch.testing.assert_close(got, want, atol=1e-8, rtol=1e-8)


def test_edge_padding_is_numpys_for_any_length():
    for mode, np_mode in [('reflect', 'reflect'), ('replicate', 'edge'), ('circular', 'wrap'), ('constant', 'constant')]:
        for n in (1, 2, 5):
            for pad in (0, 3, 11):
                x = np.arange(1, n + 1, dtype=np.float32)
                np.testing.assert_array_equal(pad_signal(torch.from_numpy(x), pad, mode).numpy(), np.pad(x, pad, np_mode))


@pytest.mark.parametrize('n,size,step', [(10, 4, 2), (11, 4, 2), (4, 4, 1), (3, 4, 2), (100, 30, 7), (1, 1, 1)])
def test_one_framing_rule(n, size, step):
    "Window starts: every `step` while they fit, then one flush with the end; shorter signals get one window."
    want = list(range(0, max(n - size, 0) + 1, step))
    if n > size and want[-1] + size < n: want.append(n - size)
    assert window_starts(n, size, step).tolist() == want
    wave = torch.arange(n, dtype=torch.float32)
    frames = frame_signal(wave, size, step)
    assert frames.shape == (len(want), size)
    for f, s in zip(frames, want): assert torch.equal(f[:max(0, min(size, n - s))], wave[s:s + size])
    stereo = frame_signal(torch.stack([wave, -wave]), size, step)
    assert stereo.shape == (len(want), 2, size) and torch.equal(stereo[:, 1], -frames)
    assert window_starts(n, size, step).dtype == torch.long     # one function: the served and the windowed form


def test_front_end_module_equals_the_batch_transforms():
    from fastai_audio import AudioTensor
    x = AudioTensor(torch.randn(4, 1, 8000) * torch.tensor([1, 0.1, 1e-4, 0.0])[:, None, None], sr=16000)
    for fe in (CLASSIC_2018.replace(mean=-20.0, std=15.0), CLASSIC_2018.replace(kind='mfcc', normalize='example'),
               CLASSIC_2018.replace(kind='linear', power=1.0, top_db=None, normalize=None)):
        out = x
        for t in fe.batch_tfms(): out = t(out)
        assert out.settings.mismatches(fe) == [] and (out.settings.mean, out.settings.std) == (fe.mean, fe.std)
        torch.testing.assert_close(FrontEndModule(fe)(x.as_subclass(torch.Tensor)), out.as_subclass(torch.Tensor),
                                   atol=2e-4, rtol=1e-4)


def test_backbone_front_end_is_checked_naming_each_setting(synth_path):
    "A network that records its front end refuses loaders whose front end differs, naming the settings and fix."
    from fastai_audio import Cnn14
    assert Cnn14().front_end is PANNS and Cnn14().front_end.mismatches(PANNS) == []   # the network's own truth
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(4, 5))
    net.front_end = CLASSIC_2018.replace(n_mels=64, pad_mode='reflect')
    items = AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
    dls = items.databunch(bs=8, duration=0.5, num_workers=0, tfms=CLASSIC_2018.batch_tfms())
    with pytest.raises(ValueError, match=r"n_mels=40 where Sequential expects 64.*pad_mode='constant' where "
                                         r"Sequential expects 'reflect'.*batch_tfms="):
        audio_learner(dls, net)
    net.front_end = CLASSIC_2018
    assert audio_learner(dls, net).spec.front_end.mismatches(CLASSIC_2018) == []


def test_embedding_cache_keys_on_everything_an_encoder_depends_on():
    class Hop(torch.nn.Module):
        def __init__(self): super().__init__(); self.hop, self.lin = 4, torch.nn.Linear(1, 3)
        def forward(self, x): return self.lin(x[:, ::self.hop].mean(1, keepdim=True))

    enc = Hop()
    emb = AudioEmbedder(enc, 16000)
    before = emb.description()
    enc.hop = 8                                        # a setting that is not a weight
    assert emb.description() != before
    enc.description = lambda: {'scale': 2}
    assert emb.description()['encoder'] == {'scale': 2}


def test_names_removed_in_0_2_are_refused():
    "The 0.1 names announced as going (see CHANGELOG.md) are gone: each is an error that names the new one."
    with pytest.raises(TypeError, match='n_hop'): get_frequency_batch_transforms(n_hop=128)
    import fastai_audio.transforms.spectrogram as features
    assert not hasattr(features, 'SpecSettings')
    from fastai_audio import AudioLoader, WaveformClassifier
    with pytest.raises(TypeError, match='window'):
        WaveformClassifier(torch.nn.Identity(), torch.nn.Identity(), 16000, window=800, hop=400)
    with pytest.raises(TypeError, match='train_crop'): AudioLoader(train_crop=1.0)
    emb = AudioEmbedder(torch.nn.Linear(16000, 2), 16000, window=1.0, hop=0.5)
    assert emb.window_length == 16000 and not hasattr(emb, 'size') and not hasattr(emb, 'settings')


@pytest.mark.parametrize('orig_sr, sr', [(44100, 16000), (48000, 16000), (22050, 16000), (8000, 16000), (16000, 44100)])
def test_device_resampling_matches_soxr(orig_sr, sr):
    "Tones below 0.9 x the lower Nyquist frequency: within -45 dB of soxr VHQ (the stated error), same length."
    import soxr
    from fastai_audio import resample_batch
    rng = np.random.default_rng(0)
    t = np.arange(orig_sr) / orig_sr
    y = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in rng.uniform(50, 0.45 * min(orig_sr, sr), 20))
    y = (y / 20).astype(np.float32)
    want = soxr.resample(y, orig_sr, sr, quality='VHQ')
    got = resample_batch(torch.from_numpy(np.stack([y, -y]))[:, None], orig_sr, sr)
    assert got.shape == (2, 1, len(want))
    inner = slice(200, len(want) - 200)                     # the ends: each resampler pads its own way
    err = got[0, 0].numpy()[inner] - want[inner]
    assert 10 * np.log10(np.mean(err ** 2) / np.mean(want[inner] ** 2)) < -45
    torch.testing.assert_close(got[1], -got[0])


def test_device_resampling_removes_what_the_new_rate_cannot_hold():
    "A 10 kHz tone at 44.1 kHz has no place at 16 kHz: at least 40 dB down, not folded back to 6 kHz."
    from fastai_audio import resample_batch
    t = np.arange(44100) / 44100
    y = torch.from_numpy(np.sin(2 * np.pi * 10000 * t).astype(np.float32))
    out = resample_batch(y, 44100, 16000)
    assert 10 * np.log10(float(out[200:-200].square().mean()) / 0.5) < -40


def test_resample_on_the_device_in_the_loaders(tmp_path):
    "AudioBlock(resample='device'): files decoded at 44.1 kHz, the batch resampled to 16 kHz before the spectrogram."
    from conftest import tone, write
    from fastai_audio import AudioDataLoaders, Resample
    for split in ('train', 'valid'):
        for label, f in (('low', 300.0), ('high', 3000.0)):
            for i in range(2):
                (tmp_path / split / label).mkdir(parents=True, exist_ok=True)
                write(tmp_path / split / label / f'{i}.wav', tone(f, 44100, 0.5), 44100)
    kw = dict(duration=0.5, bs=4, num_workers=0, batch_tfms=[], seed=0)
    host = AudioDataLoaders.from_folder(tmp_path, **kw)
    device = AudioDataLoaders.from_folder(tmp_path, resample='device', **kw)
    assert any(isinstance(t, Resample) for t in device.after_batch.fs)
    xd = device.valid.one_batch()[0]
    xh = host.valid.one_batch()[0]
    assert xd.sr == xh.sr == 16000 and xd.shape == xh.shape == (4, 1, 8000)
    err = (xd - xh).as_subclass(torch.Tensor)[..., 200:-200]
    assert 10 * torch.log10(err.square().mean() / xh.as_subclass(torch.Tensor).square().mean()) < -45
    with pytest.raises(ValueError, match="quality must be one of"):
        AudioDataLoaders.from_folder(tmp_path, quality='best', **kw)
    quick = AudioDataLoaders.from_folder(tmp_path, quality='QQ', **kw).valid.one_batch()[0]
    assert quick.shape == xh.shape and not torch.equal(quick, xh)          # soxr's quick filter: another result
