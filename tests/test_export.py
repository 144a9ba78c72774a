"""The waveform-in export: equal to learn.predict for every front end, in safetensors + JSON (torch alone),
TorchScript, ONNX and torch.export, on clips of one to many windows; what it cannot carry is refused by name."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import export_setups as E
from conftest import tone
from fastai_audio import (AudioItemList, AudioModelSpec, NSYNTH_PATTERN, arch_config, audio_learner,
                          export_waveform_model, get_frequency_batch_transforms, load_waveform_model, models, set_seed,
                          waveform_model)


@pytest.fixture(scope='module')
def learner(synth_path):
    dls = (AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
           .databunch(bs=8, duration=0.5, num_workers=0))
    set_seed(0, reproducible=True)
    learn = audio_learner(dls, models.resnet18, pretrained=False)
    learn.fit(1, 1e-3)
    return learn


def _clip(seconds, seed=0):
    rng = np.random.default_rng(seed)
    return (tone(523.0, 16000, seconds) + 0.05 * rng.standard_normal(int(16000 * seconds))).astype(np.float32)


@pytest.mark.parametrize('seconds', [0.3, 0.5, 1.37, 3.0])
@pytest.mark.parametrize('agg', ['mean', 'max'])
def test_waveform_model_equals_learn_predict(learner, seconds, agg):
    y = _clip(seconds)
    want = learner.predict(y, sr=16000, agg=agg)[2]
    with torch.no_grad(): got = waveform_model(learner, agg=agg)(torch.from_numpy(y))
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)


def test_export_formats_agree(learner, tmp_path):
    import os
    import stat
    old_mask = os.umask(0o022)
    try: path = export_waveform_model(learner, tmp_path / 'tagger')
    finally: os.umask(old_mask)
    files = sorted(p.name for p in path.iterdir())
    assert files == ['README.md', 'config.json', 'model.onnx', 'model.safetensors', 'model.ts']     # ONNX in one file
    assert all(stat.S_IMODE((path / f).stat().st_mode) == 0o644 for f in files)         # readable by whom it is shared with
    cfg = json.loads((path / 'config.json').read_text())
    assert cfg == learner.spec.to_dict()                                                 # config.json is the spec
    assert cfg['classes'] == list(learner.dls.vocab) and cfg['sample_rate'] == 16000
    assert cfg['front_end']['n_mels'] == 40 and cfg['window'] == 0.5 and cfg['hop'] == 0.25
    assert cfg['network']['source'] == 'torchvision' and cfg['network']['name'] == 'resnet18'
    assert AudioModelSpec.from_dict(cfg) == learner.spec
    ts = torch.jit.load(str(path / 'model.ts'))
    import onnxruntime as ort
    onnx = ort.InferenceSession(str(path / 'model.onnx'))
    loaded = load_waveform_model(path)
    for seconds in (0.2, 2.3):                      # any length, shorter than a window too
        y = _clip(seconds, 1)
        want = learner.predict(y, sr=16000)[2]
        with torch.no_grad():
            torch.testing.assert_close(ts(torch.from_numpy(y)), want, atol=1e-4, rtol=0)
            torch.testing.assert_close(loaded(torch.from_numpy(y)), want, atol=1e-4, rtol=0)
        np.testing.assert_allclose(onnx.run(None, {'waveform': y})[0], want.numpy(), atol=1e-4)


def test_safetensors_model_loads_without_fastai_or_pickle(learner, tmp_path):
    path = export_waveform_model(learner, tmp_path / 'tagger', formats=('safetensors',))
    y = _clip(1.8, 2)
    np.save(tmp_path / 'y.npy', y)
    np.save(tmp_path / 'want.npy', learner.predict(y, sr=16000)[2].numpy())
    root = str(Path(__file__).parent.parent)
    code = f"""
import sys, pickle
for name in ('fastai', 'fastcore', 'fasttransform', 'librosa'): sys.modules[name] = None   # importing any would fail
def no_pickle(*a, **k): raise AssertionError('pickle used')
pickle.load = pickle.loads = no_pickle
import numpy as np, torch
sys.path.insert(0, {root!r})
from fastai_audio.serving import load_waveform_model                 # the torch-only layers
model = load_waveform_model({str(path)!r})
with torch.no_grad(): got = model(torch.from_numpy(np.load({str(tmp_path / 'y.npy')!r})))
np.testing.assert_allclose(got.numpy(), np.load({str(tmp_path / 'want.npy')!r}), atol=1e-4)
print('ok', model.classes)
"""
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.startswith('ok')


def test_timm_network_is_rebuilt_from_its_name(synth_path, tmp_path):
    dls = (AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
           .databunch(bs=8, duration=0.5, num_workers=0))
    learn = audio_learner(dls, 'resnet18', pretrained=False)
    cfg = arch_config(learn)
    assert cfg == learn.spec.network == arch_config(learn.model)         # timm bodies describe themselves
    assert cfg['source'] == 'timm' and cfg['name'] == 'resnet18' and cfg['n_in'] == 1
    path = export_waveform_model(learn, tmp_path / 'm', formats=('safetensors',))
    y = _clip(0.9)
    with torch.no_grad():
        torch.testing.assert_close(load_waveform_model(path)(torch.from_numpy(y)), learn.predict(y, sr=16000)[2],
                                   atol=1e-4, rtol=0)


def test_networks_it_cannot_describe_need_net(synth_path, tmp_path):
    items = AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
    dls = items.databunch(bs=8, duration=0.5, num_workers=0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(4, 5))
    learn = audio_learner(dls, net)
    path = export_waveform_model(learn, tmp_path / 'custom', formats=('safetensors',))
    with pytest.raises(ValueError, match='pass net='):
        load_waveform_model(path)
    same = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                               torch.nn.Linear(4, 5))
    y = _clip(0.7)
    with torch.no_grad():
        torch.testing.assert_close(load_waveform_model(path, net=same)(torch.from_numpy(y)),
                                   learn.predict(y, sr=16000)[2], atol=1e-4, rtol=0)


# --------------------------------------------------------------------------- every front end, every format
@pytest.mark.parametrize('name', list(E.FRONT_ENDS) + list(E.STACKED))
def test_every_front_end_kind_exports_equal_to_predict(synth_path, name):
    """Trained a few steps with each front end, the exported module (what safetensors + config.json rebuild)
    equals learn.predict on clips shorter than a window, and of 1, 2, 3 and 10+ windows, silences included."""
    fe = E.front_end(name)
    learn = E.learner(synth_path, fe, duration=0.5)
    got = learn.spec.front_end
    assert got.mismatches(fe) == []           # the spec is what was asked for
    assert (got.mean is not None) == (fe.normalize == 'dataset')              # statistics measured and kept
    model = waveform_model(learn)
    worst = E.worst_errors(learn, {'module': lambda y: model(torch.from_numpy(y)).detach().numpy()},
                           E.lengths_for(0.5))
    assert worst['module'] < 1e-4, worst


@pytest.mark.parametrize('name,duration', [("pad_mode='replicate'", 2.0), ('MFCC (20)', 0.5)])
def test_every_format_equals_predict_for_any_clip_length(synth_path, tmp_path, name, duration):
    """safetensors (rebuilt by the torch-only loader), TorchScript, ONNX (onnxruntime) and torch.export: equal to
    predict on 1, 2, 3 and 10+ windows, whatever the training crop (2 s once froze ONNX's window count)."""
    learn = E.learner(synth_path, E.front_end(name), duration=duration)
    forms = E.exported_forms(learn, tmp_path / 'm', net_like=E.small_net(1, len(learn.dls.vocab)))
    worst = E.worst_errors(learn, forms, E.lengths_for(duration))
    assert set(worst) == {'safetensors', 'torchscript', 'onnx', 'pt2'} and max(worst.values()) < 1e-4, worst


@pytest.mark.parametrize('name', ['PCEN (magnitude mels)', *E.STACKED])
@pytest.mark.parametrize('duration', [0.5, None])
def test_pcen_and_stacked_front_ends_export_in_every_format(synth_path, tmp_path, name, duration):
    """PCEN and three-channel front ends, windowed (0.5 s crops) and on whole clips: safetensors, TorchScript,
    ONNX and torch.export all equal learn.predict within 1e-4, on clips of every length the helpers make."""
    fe = E.front_end(name)
    learn = E.learner(synth_path, fe, duration=duration)
    got = learn.spec.front_end
    assert got.mismatches(fe) == [] and got.input_channels == fe.input_channels
    if fe.stacked: assert len(got.mean) == len(got.std) == 3 and learn.dls.one_batch()[0].shape[1] == 3
    forms = E.exported_forms(learn, tmp_path / 'm', net_like=E.small_net(fe.input_channels, len(learn.dls.vocab)))
    worst = E.worst_errors(learn, forms, E.lengths_for(0.5) if duration else [0.3, 1.0, 2.7])
    assert set(worst) == {'safetensors', 'torchscript', 'onnx', 'pt2'} and max(worst.values()) < 1e-4, worst


def test_stereo_model_exports(tmp_path):
    "mono=False: the model takes `(channels, samples)`; every format equals predict."
    data = E.stereo_folder(tmp_path / 'stereo')
    learn = E.learner(data, E.front_end('classic log-mel (reflect)', channels=2), duration=0.5, stereo=True)
    assert learn.spec.front_end.channels == 2
    forms = E.exported_forms(learn, tmp_path / 'm', net_like=E.small_net(2, 2))
    worst = E.worst_errors(learn, forms, E.lengths_for(0.5), channels=2)
    assert max(worst.values()) < 1e-4, worst


def test_whole_clip_learner_exports_a_whole_clip_model(synth_path, tmp_path):
    "A learner trained on whole clips (no duration) predicts whole clips; so does its export, in every format."
    learn = E.learner(synth_path, E.front_end('classic log-mel (reflect)'), duration=None)
    assert learn.spec.duration is None and learn.spec.window is None
    model = waveform_model(learn)
    assert model.whole and model.windows(torch.zeros(12345)).shape == (1, 1, 12345)
    forms = E.exported_forms(learn, tmp_path / 'm', net_like=E.small_net(1, len(learn.dls.vocab)))
    worst = E.worst_errors(learn, forms, [0.3, 1.0, 2.7])
    assert max(worst.values()) < 1e-4, worst


def test_a_transform_export_cannot_carry_is_refused_by_name(synth_path):
    from fasttransform import Transform

    class Louder(Transform):
        order = 80
        def encodes(self, x: torch.Tensor): return x * 2

    items = AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
    dls = items.databunch(bs=8, duration=0.5, num_workers=0, tfms=get_frequency_batch_transforms() + [Louder()])
    learn = audio_learner(dls, E.small_net(1, len(dls.vocab)))
    with pytest.raises(ValueError, match='Louder'):
        waveform_model(learn)


def test_v01_export_folder_still_loads(learner, tmp_path):
    "A folder written by v0.1 (log-mel config with window_seconds, arch, normalize [mean, std]) loads the same."
    path = export_waveform_model(learner, tmp_path / 'new', formats=('safetensors',))
    spec = learner.spec
    fe = spec.front_end
    old = dict(front_end=dict(sample_rate=fe.sample_rate, n_fft=fe.n_fft, hop_length=fe.hop_length,
                              win_length=fe.win_length, n_mels=fe.n_mels, f_min=fe.f_min, f_max=fe.f_max, htk=fe.htk,
                              mel_norm=fe.mel_norm, power=fe.power, center=fe.center, pad_mode=fe.pad_mode,
                              ref=fe.ref, amin=fe.amin, top_db=fe.top_db, normalize=[fe.mean, fe.std]),
               sample_rate=16000, window_seconds=0.5, hop_seconds=0.25, agg='mean', multi_label=False,
               repeat=False, classes=list(spec.classes), arch=spec.network)
    (path / 'config.json').write_text(json.dumps(old))
    y = _clip(1.3, 4)
    with torch.no_grad():
        torch.testing.assert_close(load_waveform_model(path)(torch.from_numpy(y)), learner.predict(y, sr=16000)[2],
                                   atol=1e-4, rtol=0)
