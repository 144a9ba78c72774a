"""Benchmark (f): ESC-50-style 5-fold cross-validation, end to end, on a generated fixture in ESC-50's layout
(the real data cannot be downloaded here; on a machine that can, pass --data with an extracted ESC-50).

    python benchmarks/esc50_crossval.py [--data DIR] [--epochs 5] [--clips-per-fold 8] [--append]

`esc50_dataloaders(path, fold)` + `cross_validate`, resnet18 from scratch with `fit_one_cycle`, classic
40-mel front end at the data's rate. Reports accuracy mean ± std (ddof=1) over the folds.
"""
import argparse
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, command, machine, today  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', default=None, help='an extracted ESC-50 (default: a synthetic fixture)')
    p.add_argument('--epochs', type=int, default=5)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--sr', type=int, default=16000)
    p.add_argument('--clips-per-fold', type=int, default=8)
    p.add_argument('--append', action='store_true')
    a = p.parse_args()
    from fastai_audio import (cross_validate, esc50_dataloaders, get_frequency_batch_transforms, make_esc50_like,
                              models)
    tmp = None
    if a.data is None:
        tmp = tempfile.TemporaryDirectory()
        t0 = time.time()
        a.data = make_esc50_like(Path(tmp.name) / 'ESC-50-master', clips_per_fold=a.clips_per_fold, sr=a.sr,
                                 duration=5.0)
        print(f'fixture written in {time.time() - t0:.0f} s: {a.data}')
    t0 = time.time()
    dls_for_fold = partial(esc50_dataloaders, a.data, sr=a.sr, duration=5.0, bs=a.bs,
                           batch_tfms=get_frequency_batch_transforms(sr=a.sr))
    res = cross_validate(dls_for_fold, models.resnet18, epochs=a.epochs, lr=a.lr, pretrained=False)
    secs = time.time() - t0
    print(res.summary())
    print(f'{secs:.0f} s for 5 folds')
    if a.append:
        acc = f"{res.mean['accuracy']:.3f} ± {res.std['accuracy']:.3f}"
        data = 'fixture' if tmp else a.data
        append_row('esc50 cv', [today(), f'`{command()}`', machine(), data, a.epochs, acc,
                                ' '.join(f"{res.scores[f]['accuracy']:.3f}" for f in res.scores), f'{secs:.0f} s'])
    if tmp: tmp.cleanup()


if __name__ == '__main__':
    main()
