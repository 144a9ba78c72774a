import os
os.environ.setdefault('MPLBACKEND', 'Agg')

import pytest
import torch

from training_setups import tone, write  # noqa: F401  (tests import them from conftest)

# 2 threads on the 2-core machines; TEST_THREADS=1 while something else runs (OpenMP threads that share a core spin)
torch.set_num_threads(int(os.environ.get('TEST_THREADS', max(1, min(2, os.cpu_count() or 1)))))


@pytest.fixture(scope='session')
def synth_path(tmp_path_factory):
    "A small NSynth-style folder: train/ and valid/, 5 classes, 1 s clips at 16 kHz."
    from fastai_audio.datasets.synth import make_synthetic_dataset
    return make_synthetic_dataset(tmp_path_factory.mktemp('synth'), n_train=8, n_valid=4, seed=1)


@pytest.fixture(scope='session')
def classic_dls(synth_path):
    "The classic fluent pipeline on the small synthetic folder."
    from fastai_audio import AudioItemList, NSYNTH_PATTERN, get_frequency_batch_transforms
    tfms = get_frequency_batch_transforms(n_fft=1024, hop_length=256, n_mels=40, sr=16000)
    return (AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
            .databunch(bs=8, tfms=tfms, num_workers=0))


@pytest.fixture(scope='session')
def tone_learner(tmp_path_factory):
    "low (300 Hz) versus high (3 kHz) tones: trained on 0.5 s crops of 0.5 s clips, validated on 3 s clips."
    from training_setups import tone_learner
    return tone_learner(tmp_path_factory.mktemp('tones'))


def first_batches(dl, n=2):
    "The first `n` batches of `dl` as plain tensors (inputs, targets), cloned."
    out = []
    for i, (x, y) in enumerate(dl):
        out.append((x.as_subclass(torch.Tensor).clone(), y.as_subclass(torch.Tensor).clone()))
        if i + 1 == n: break
    return out
