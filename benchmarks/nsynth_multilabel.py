"""Benchmark (e): multi-label tagging on NSynth-GM mixtures, lwlrap on the valid split.

    python benchmarks/nsynth_multilabel.py DATA/nsynth_gm [--epochs 3] [--lr 1e-3] [--append]

Each item is the sum of two notes of different instrument families, mixed on the fly when the item is
loaded (the second note 0 to -6 dB under the first) and labelled with both families. Pairs are drawn once
(seed) within each split, so valid mixtures only hold valid-split instruments. Classic 40-mel front end,
resnet18 from scratch, BCE-with-logits, fit_one_cycle; reports lwlrap and accuracy_multi (threshold 0.5).
"""
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, command, epoch_timer, machine, today, training_parser  # noqa: E402

FAMILY = r'^([a-z_]+?)_(?:acoustic|electronic|synthetic)_'


def family(p): return re.match(FAMILY, Path(p).name).group(1)


class Pair:
    "Two files and the second one's level in dB (a class, not a tuple: fastai maps transforms over tuples)."
    def __init__(self, a, b, db): self.a, self.b, self.db = a, b, db


def pairs(files, n, rng):
    "n `Pair`s of files of different families."
    fams = np.array([family(f) for f in files])
    out = []
    while len(out) < n:
        a, b = rng.integers(0, len(files), 2)
        if fams[a] != fams[b]: out.append(Pair(files[a], files[b], float(rng.uniform(-6, 0))))
    return out


def mix(item):
    "The two notes of `item` summed (zero-padded to the longer), the second scaled by its level."
    from fastai_audio import AudioTensor, crop_pad, load_audio
    x, y = load_audio(item.a, sr=16000), load_audio(item.b, sr=16000)
    n = max(x.shape[-1], y.shape[-1])
    return AudioTensor(crop_pad(x, n) + crop_pad(y, n) * 10 ** (item.db / 20), sr=16000)


def labels(item): return [family(item.a), family(item.b)]


def main():
    p = training_parser(__doc__)
    a = p.parse_args()
    from fastai_audio import (AudioBlock, AudioDataLoaders, DataBlock, IndexSplitter, MultiCategoryBlock,
                              audio_learner, get_audio_files, get_frequency_batch_transforms, models, set_seed)
    set_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    root = Path(a.data)
    train = sorted(get_audio_files(root / 'train'))
    valid = sorted(get_audio_files(root / 'valid'))
    items = pairs(train, len(train), rng) + pairs(valid, len(valid), rng)
    dblock = DataBlock(blocks=(AudioBlock(sr=16000, duration=4.0), MultiCategoryBlock), get_x=mix, get_y=labels,
                       splitter=IndexSplitter(range(len(train), len(items))),
                       batch_tfms=get_frequency_batch_transforms(n_fft=1024, hop_length=256, n_mels=40, sr=16000))
    dls = AudioDataLoaders.from_dls(dblock.dataloaders(items, bs=a.bs))
    print(f'{len(dls.train_ds)} train / {len(dls.valid_ds)} valid mixtures, {len(dls.vocab)} families')
    timer = epoch_timer()
    learn = audio_learner(dls, models.resnet18, pretrained=False, cbs=timer)     # metrics: accuracy_multi, lwlrap
    learn.fit_one_cycle(a.epochs, a.lr)
    _, _, acc, lw = learn.recorder.values[-1]       # train loss, valid loss, accuracy_multi, lwlrap
    ep = sum(timer.times) / len(timer.times)
    print(f'valid lwlrap {lw:.4f}, accuracy_multi {acc:.4f}; mean epoch {ep:.1f} s')
    if a.append:
        append_row('multilabel', [today(), f'`{command()}`', machine(), a.epochs, f'{lw:.3f}', f'{acc:.3f}',
                                  f'{ep:.0f} s'])


if __name__ == '__main__':
    main()
