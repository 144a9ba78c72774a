"""The waveform-in export: equal to learn.predict, in TorchScript, ONNX and safetensors + JSON (no fastai)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import tone
from fastai_audio import (AudioItemList, NSYNTH_PATTERN, arch_config, audio_learner, export_waveform_model,
                          get_frequency_batch_transforms, load_waveform_model, models, set_seed, waveform_model)


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
    assert files == ['config.json', 'model.onnx', 'model.safetensors', 'model.ts']     # ONNX in one file
    assert all(stat.S_IMODE((path / f).stat().st_mode) == 0o644 for f in files)         # readable by whom it is shared with
    cfg = json.loads((path / 'config.json').read_text())
    assert cfg['classes'] == list(learner.dls.vocab) and cfg['sample_rate'] == 16000
    assert cfg['front_end']['n_mels'] == 40 and cfg['window_seconds'] == 0.5 and cfg['hop_seconds'] == 0.25
    assert cfg['arch']['source'] == 'torchvision' and cfg['arch']['name'] == 'resnet18'
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
    portable = Path(__file__).parent.parent / 'fastai_audio' / 'portable.py'
    code = f"""
import sys, pickle, importlib.util
sys.modules['fastai'] = None; sys.modules['fastai_audio'] = None     # importing either would fail
def no_pickle(*a, **k): raise AssertionError('pickle used')
pickle.load = pickle.loads = no_pickle
import numpy as np, torch
spec = importlib.util.spec_from_file_location('portable', {str(portable)!r})
portable = importlib.util.module_from_spec(spec); spec.loader.exec_module(portable)
model = portable.load_waveform_model({str(path)!r})
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
    cfg = arch_config(learn.model)
    assert cfg['source'] == 'timm' and cfg['name'] == 'resnet18' and cfg['n_in'] == 1
    path = export_waveform_model(learn, tmp_path / 'm', formats=('safetensors',))
    y = _clip(0.9)
    with torch.no_grad():
        torch.testing.assert_close(load_waveform_model(path)(torch.from_numpy(y)), learn.predict(y, sr=16000)[2],
                                   atol=1e-4, rtol=0)


def test_networks_it_cannot_describe_need_net_and_mfcc_is_refused(synth_path, tmp_path):
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
    mfcc = items.databunch(bs=8, duration=0.5, num_workers=0, tfms=get_frequency_batch_transforms(mfcc=20))
    with pytest.raises(NotImplementedError, match='MelSpectrogram'):
        waveform_model(audio_learner(mfcc, net))
