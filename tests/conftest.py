import os
os.environ.setdefault('MPLBACKEND', 'Agg')

import numpy as np
import pytest
import soundfile as sf
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope='session')
def synth_path(tmp_path_factory):
    "A small NSynth-style folder: train/ and valid/, 5 classes, 1 s clips at 16 kHz."
    from fastai_audio.synth import make_synthetic_dataset
    return make_synthetic_dataset(tmp_path_factory.mktemp('synth'), n_train=8, n_valid=4, seed=1)


@pytest.fixture(scope='session')
def classic_dls(synth_path):
    "The classic fluent pipeline on the small synthetic folder."
    from fastai_audio import AudioItemList, NSYNTH_PATTERN, get_frequency_batch_transforms
    tfms = get_frequency_batch_transforms(n_fft=1024, n_hop=256, n_mels=40, sample_rate=16000)
    return (AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
            .databunch(bs=8, tfms=tfms, num_workers=0))


def tone(freq=440.0, sr=16000, seconds=1.0, amp=0.5):
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write(path, data, sr, subtype=None, **kw):
    sf.write(str(path), data, sr, subtype=subtype, **kw)
    return path


@pytest.fixture(scope='session')
def tone_learner(tmp_path_factory):
    "low (300 Hz) versus high (3 kHz) tones: trained on 0.5 s crops of 0.5 s clips, validated on 3 s clips."
    import pandas as pd
    from fastai_audio import AudioDataLoaders, audio_learner
    d = tmp_path_factory.mktemp('tones')
    rows = []
    for split, n, secs in (('train', 6, 0.5), ('valid', 2, 3.0)):
        for i in range(n):
            for lab, f in (('low', 300.0), ('high', 3000.0)):
                write(d / f'{split}_{lab}_{i}.wav', tone(f * (1 + 0.05 * i), 16000, secs), 16000)
                rows.append((f'{split}_{lab}_{i}.wav', lab, split == 'valid'))
    dls = AudioDataLoaders.from_df(pd.DataFrame(rows, columns=['f', 'y', 'v']), d, valid_col='v', duration=0.5,
                                   bs=4, num_workers=0)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveMaxPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(8, 2))
    learn = audio_learner(dls, net)
    learn.fit_one_cycle(10, 3e-2)
    return learn


def first_batches(dl, n=2):
    "The first `n` batches of `dl` as plain tensors (inputs, targets), cloned."
    out = []
    for i, (x, y) in enumerate(dl):
        out.append((x.as_subclass(torch.Tensor).clone(), y.as_subclass(torch.Tensor).clone()))
        if i + 1 == n: break
    return out
