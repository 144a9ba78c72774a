"Determinism (same seed, same batches and metrics on the CPU) and resumable training (Checkpoint)."
import pytest
import torch
from fastai.callback.core import Callback

from conftest import first_batches
from fastai_audio import (AudioItemList, Checkpoint, NSYNTH_PATTERN, Learner, accuracy, audio_aug_transforms,
                          audio_learner, get_frequency_batch_transforms, set_seed)


def _make(path, workers=0, seed=0):
    "Loaders with random crops and GPU-style augmentation, and a small CNN, all built after `set_seed(seed)`."
    set_seed(seed, reproducible=True)
    tfms = audio_aug_transforms(p=0.5, background=None) + get_frequency_batch_transforms()
    dls = (AudioItemList.from_folder(path).split_by_folder().label_from_re(NSYNTH_PATTERN)
           .databunch(bs=8, tfms=tfms, duration=0.5, num_workers=workers))
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, len(dls.vocab)))
    return audio_learner(dls, net, metrics=accuracy)


def _run(path, workers=0, seed=0):
    learn = _make(path, workers, seed)
    batches = first_batches(learn.dls.train, 3)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 3e-3)
    return batches, [row[:3] for row in learn.recorder.values], learn.model.state_dict()


@pytest.mark.parametrize('workers', [0, 2])
def test_same_seed_same_batches_and_metrics(synth_path, workers):
    b1, v1, w1 = _run(synth_path, workers)
    b2, v2, w2 = _run(synth_path, workers)
    for (x1, y1), (x2, y2) in zip(b1, b2):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert v1 == v2
    for k in w1: assert torch.equal(w1[k], w2[k]), k
    b3, _, _ = _run(synth_path, workers, seed=1)                 # and the seed matters
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(b1, b3))


class _PowerCut(Callback):
    "Stops the process (an exception fastai does not catch) when epoch `at` begins."
    def __init__(self, at): self.at = at
    def before_epoch(self):
        if self.epoch == self.at: raise RuntimeError('power cut')


def test_interrupted_fit_resumes_from_its_checkpoint_exactly(synth_path, tmp_path):
    def fit(learn, *cbs):
        learn.path = tmp_path
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(4, 3e-3, cbs=list(cbs))
        return learn

    full = fit(_make(synth_path), Checkpoint('full'))
    with pytest.raises(RuntimeError, match='power cut'):
        fit(_make(synth_path), Checkpoint('run'), _PowerCut(at=2))
    saved = torch.load(tmp_path / 'models' / 'run.pth', weights_only=True)    # plain tensors and values
    assert saved['epoch'] == 1 and len(saved['recorder']['values']) == 2

    seen = []

    class _Epochs(Callback):
        order = 70
        def before_train(self): seen.append(self.epoch)
    # a new process: other random state, other initial weights and normalisation statistics
    resumed = fit(_make(synth_path, seed=7), Checkpoint('run', resume=True), _Epochs())
    assert seen == [2, 3]                                         # epochs 0 and 1 were not trained again
    for k, w in full.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[k], w, rtol=0, atol=1e-6, msg=k)
    flat = lambda learn: [float(v) for row in learn.recorder.values for v in row[:3]]    # losses and accuracy
    assert flat(resumed) == pytest.approx(flat(full), abs=1e-6)


def test_resume_needs_the_same_fit_and_warns_without_checkpoint(synth_path, tmp_path):
    learn = _make(synth_path)
    learn.path = tmp_path
    with learn.no_bar(), learn.no_logging():
        with pytest.warns(UserWarning, match='no checkpoint at .*nothing.pth; training from the first epoch'):
            learn.fit(1, 1e-3, cbs=Checkpoint('nothing', resume=True))
        with pytest.raises(ValueError, match=r'from a fit of 1 epochs; this fit has 3'):
            learn.fit(3, 1e-3, cbs=Checkpoint('nothing', resume=True))
    assert isinstance(learn, Learner)


def test_resume_refuses_a_checkpoint_of_another_front_end(synth_path, tmp_path):
    "The checkpoint holds the learner's spec; resuming with other spectrogram settings names them."
    learn = _make(synth_path)
    learn.path = tmp_path
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=Checkpoint('fe'))
    set_seed(0)
    dls = (AudioItemList.from_folder(synth_path).split_by_folder().label_from_re(NSYNTH_PATTERN)
           .databunch(bs=8, tfms=get_frequency_batch_transforms(n_mels=64), duration=0.5, num_workers=0))
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, len(dls.vocab)))
    other = audio_learner(dls, net, metrics=accuracy)
    other.path = tmp_path
    with other.no_bar(), other.no_logging(), pytest.raises(ValueError, match='cannot resume.*n_mels=64 where'):
        other.fit(1, 1e-3, cbs=Checkpoint('fe', resume=True))
