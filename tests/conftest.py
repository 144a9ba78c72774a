import os
os.environ.setdefault('MPLBACKEND', 'Agg')

import pytest
import torch

from training_setups import tone, write  # noqa: F401  (tests import them from conftest)


def threads_per_worker() -> int:
    """torch threads for each test process: the cores shared out among pytest-xdist's workers (`-n`), at least 1,
    at most 2 (the tests' networks are small); TEST_THREADS=1 while something else runs. Threads that share a core
    spin: with 2 threads a worker on a busy 2-core machine took 13x the CPU time of 1 thread on a small SED fit."""
    if os.environ.get('TEST_THREADS'): return int(os.environ['TEST_THREADS'])
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', 1))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1
    return max(1, min(2, cores // workers))


THREADS = threads_per_worker()
torch.set_num_threads(THREADS)
os.environ['OMP_NUM_THREADS'] = str(THREADS)      # the same for what the tests start: notebook kernels, the CLI, DDP


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


# the longest tests (each runs a notebook kernel or the README's trainings) start first, so that with xdist's
# workers (-n) none of them is left running alone at the end
LONGEST_FIRST = ('test_notebooks.py', 'test_readme.py')


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.path.name not in LONGEST_FIRST)     # stable: the rest keep their order
