"""The setups of the tests whose assertions depend on a training outcome, written once.

The fixtures build their learners here, and `benchmarks/training_seeds.py` runs each setup under many seeds
and reports the minimum, median and maximum of what the tests assert, so a threshold is known to hold with a
margin whatever seed or torch build (a setup whose outcome is a lottery is a broken test).

Each setup is `name(root, seed) -> learner` (`root`: an empty folder for its data) and each has an
`outcome_*` function returning the numbers its tests assert, by name.
"""
import numpy as np
import pandas as pd
import soundfile as sf
import torch

# What the tests assert about each setup's outcome (checked under 8 seeds by benchmarks/training_seeds.py).
CLASSIC_MIN_ACCURACY = 0.75          # 5 classes: chance is 0.2


def tone(freq=440.0, sr=16000, seconds=1.0, amp=0.5):
    "A sine `(samples,)` float32 of `freq` Hz, `seconds` long, peak `amp`."
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write(path, data, sr, subtype=None, **kw):
    "Write `data` to `path` with soundfile; returns `path`."
    sf.write(str(path), data, sr, subtype=subtype, **kw)
    return path


def classic_learner(root, seed=0):
    """The classic recipe (fluent API, `create_cnn`, resnet18 from scratch) on 20 synthetic clips a class.
    8 one-cycle epochs of 6 batches of 16: enough steps that batch norm's running statistics have settled
    by the end (with 4 epochs the valid accuracy ranged 0.53-0.90 across seeds and torch builds)."""
    from fastai_audio import (AudioItemList, NSYNTH_PATTERN, accuracy, create_cnn, get_frequency_batch_transforms,
                              make_synthetic_dataset, models, set_seed)
    path = make_synthetic_dataset(root, n_train=20, n_valid=6, seed=2)
    dls = (AudioItemList.from_folder(path).split_by_folder().label_from_re(NSYNTH_PATTERN)
           .databunch(bs=16, tfms=get_frequency_batch_transforms(), num_workers=0))
    set_seed(seed, reproducible=True)
    learn = create_cnn(dls, models.resnet18, metrics=accuracy, pretrained=False)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(8, 3e-3)
    learn.data_path = path
    return learn


def outcome_classic(learn) -> dict:
    with learn.no_bar(): return {'valid accuracy': float(learn.validate()[1])}


def tone_learner(root, seed=0):
    """Low (300 Hz) versus high (3 kHz) tones: a small CNN trained on 0.5 s clips, validated on 3 s clips. Its
    pooling keeps four frequency bands: a tone is the same line at any height, so a network pooling over
    frequency too can only guess (with a global max pool the worst of 8 seeds was P = 0.49 for the right class)."""
    from fastai_audio import AudioDataLoaders, audio_learner, set_seed
    rows = []
    for split, n, secs in (('train', 6, 0.5), ('valid', 2, 3.0)):
        for i in range(n):
            for lab, f in (('low', 300.0), ('high', 3000.0)):
                write(root / f'{split}_{lab}_{i}.wav', tone(f * (1 + 0.05 * i), 16000, secs), 16000)
                rows.append((f'{split}_{lab}_{i}.wav', lab, split == 'valid'))
    dls = AudioDataLoaders.from_df(pd.DataFrame(rows, columns=['f', 'y', 'v']), root, valid_col='v', duration=0.5,
                                   bs=4, num_workers=0)
    set_seed(seed, reproducible=True)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveMaxPool2d((4, 1)),
                              torch.nn.Flatten(), torch.nn.Linear(8 * 4, 2))
    learn = audio_learner(dls, net)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(10, 3e-2)
    return learn


def outcome_tone(learn, root) -> dict:
    """What tests/test_inference.py asserts: a long low tone is 'low' (P > 0.5); along low-then-high, P(low)
    is above 0.5 in the first window and below in the last; a short high tone is 'high'."""
    low = list(learn.dls.vocab).index('low')
    long_low = write(root / 'long_low.wav', tone(300.0, 16000, 2.2), 16000)
    mix = write(root / 'mix.wav', np.concatenate([tone(300.0, 16000, 1.0), tone(3000.0, 16000, 1.0)]), 16000)
    high = write(root / 'high.wav', tone(3000.0, 16000, 1.3), 16000)
    with learn.no_bar():
        tl = learn.predict(mix, with_timeline=True)[-1]
        return {'P(low), long low tone': float(learn.predict(long_low)[2][low]),
                'P(low), first window of low-high': float(tl.probs[0, low]),
                'P(low), last window of low-high': float(tl.probs[-1, low]),
                'P(high), high tone': float(learn.predict(high)[2][1 - low])}


def multilabel_learner(root, seed=0):
    "Multi-label tagging on an FSDKaggle2019-layout fixture (48 clips, up to 2 labels), a small CNN."
    from fastai_audio import audio_learner, fsdkaggle2019_dataloaders, make_fsdkaggle2019_like, set_seed
    data = make_fsdkaggle2019_like(root, n_clips=48, sr=16000, durations=(0.5, 2.0), max_labels=2, seed=4)
    dls = fsdkaggle2019_dataloaders(data, sr=16000, duration=1.0, bs=8, num_workers=0, seed=0)
    set_seed(seed, reproducible=True)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveMaxPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(16, len(dls.vocab)))
    learn = audio_learner(dls, net)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(6, 1e-2)
    return learn


def outcome_multilabel(learn) -> dict:
    with learn.no_bar(): _, acc, lw = learn.validate()
    return {'accuracy_multi': float(acc), 'lwlrap': float(lw)}


SETUPS = {'classic resnet18 (tests/test_learner.py)': (classic_learner, lambda l, r: outcome_classic(l)),
          'tones (tests/test_inference.py, test_windows.py)': (tone_learner, outcome_tone),
          'multi-label (tests/test_multilabel.py)': (multilabel_learner, lambda l, r: outcome_multilabel(l))}
