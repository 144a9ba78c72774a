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
