"""Benchmark (issue 14): which augmentation pays off on instruments never heard in training.

    python ../shared/datasets/make_nsynth_gm.py --out DATA/nsynth_gm                 # once, outside the repo
    python benchmarks/augment_study.py DATA/nsynth_gm [--split primary|alt] [--epochs 12] [--seeds 0 1]
           [--subset 0.25] [--recipes none,preset,masks,...] [--append]

resnet18 from scratch on the classic log-mel front end (40 mels, 1024 / 256 at 16 kHz), fit_one_cycle for
`--epochs`, once per recipe and seed, on `--subset` of the training clips of each class (the same subset for
every recipe and seed; validation is always whole). `--split alt` reads `DATA/alt_program_split` (held-out GM
programs) instead of `DATA` (held-out soundfonts): a recipe counts only if it wins on both. Each row: the
final valid accuracy over the seeds (mean, min-max), the final training loss (has the unaugmented model
converged on the training set?), and the difference from 'none' at the same budget.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, command, machine, today  # noqa: E402


def recipes():
    "name -> (augmentation transforms, extra callbacks): the families of the preset, their strengths, mixes."
    import fastai_audio as fa
    from fastai.callback.mixup import MixUp
    return {
        'none': lambda: ([], []),
        'preset': lambda: (fa.audio_aug_transforms(**fa.FULL_PRESET), []),      # the 0.1 defaults, as measured
        'preset now': lambda: (fa.audio_aug_transforms(), []),                   # today's default: the filter alone
        'masks': lambda: ([fa.FrequencyMask((0, 6), 2), fa.TimeMask((0, 20), 2)], []),
        'masks light': lambda: ([fa.FrequencyMask((0, 4), 1), fa.TimeMask((0, 10), 1)], []),
        'filter': lambda: ([fa.RandomFilter(p=0.3)], []),
        'filter all kinds': lambda: ([fa.RandomFilter(kinds=fa.FILTER_KINDS, p=0.5)], []),
        'gain + noise': lambda: ([fa.Gain(p=0.5), fa.AddNoise((15.0, 40.0), p=0.5)], []),
        'pitch': lambda: ([fa.PitchShift((-2.0, 2.0), p=0.5)], []),
        'pitch light': lambda: ([fa.PitchShift((-1.0, 1.0), p=0.3)], []),
        'stretch + shift': lambda: ([fa.TimeStretch((0.85, 1.15), p=0.5), fa.TimeShift(0.1, p=0.5)], []),
        'speed': lambda: ([fa.SpeedPerturb((0.9, 1.1), p=0.5)], []),
        'reverb': lambda: ([fa.Reverb(rt60=(0.1, 0.6), p=0.5)], []),
        'distortion': lambda: ([fa.Distortion((3.0, 12.0), p=0.3)], []),
        'mixup': lambda: ([], [MixUp(0.4)]),
        'light': lambda: ([fa.RandomFilter(kinds=fa.FILTER_KINDS, p=0.3), fa.Gain(p=0.5), fa.TimeShift(0.1, p=0.5)], []),
        'filter + reverb + gain': lambda: ([fa.RandomFilter(kinds=fa.FILTER_KINDS, p=0.5), fa.Reverb(rt60=(0.1, 0.6), p=0.3),
                                            fa.Gain(p=0.5)], []),
        'filter + reverb + gain + mixup': lambda: ([fa.RandomFilter(kinds=fa.FILTER_KINDS, p=0.5),
                                                    fa.Reverb(rt60=(0.1, 0.6), p=0.3), fa.Gain(p=0.5)], [MixUp(0.4)]),
    }


def subset(files, fraction: float, pattern: str, seed: int = 0):
    "`fraction` of each class's training files (at least one), the same for every run; all validation files."
    import random
    import re
    by = {}
    for f in files:
        if f.parent.name == 'valid' or f.parts[-2] == 'valid': by.setdefault(('valid', None), []).append(f)
        else: by.setdefault(('train', re.search(pattern, f.name).group(1)), []).append(f)
    rng, keep = random.Random(seed), []
    for (split, _), fs in sorted(by.items(), key=lambda kv: str(kv[0])):
        fs = sorted(fs)
        keep += fs if split == 'valid' or fraction >= 1 else rng.sample(fs, max(1, round(fraction * len(fs))))
    return keep


def run(root, recipe, seed, epochs, lr, bs, fraction, pattern, hop_length=256):
    "Train once; (valid accuracy, final smoothed train loss, training clips). Validation runs once, at the end."
    import fastai_audio as fa
    from fastai.callback.core import Callback, CancelValidException

    class NoValidation(Callback):
        def before_validate(self): raise CancelValidException()

    fa.set_seed(seed, reproducible=True)
    augs, cbs = recipes()[recipe]()
    files = subset(fa.get_audio_files(root, folders=['train', 'valid']), fraction, pattern)
    data = (fa.AudioItemList(files, path=root).split_by_folder().label_from_re(pattern)
            .databunch(bs=bs, tfms=augs + fa.get_frequency_batch_transforms(hop_length=hop_length, n_mels=40)))
    learn = fa.create_cnn(data, fa.models.resnet18, metrics=fa.accuracy, pretrained=False, cbs=cbs)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, lr, cbs=NoValidation())
    train_loss = float(learn.recorder.losses[-1])
    for cb in cbs: learn.remove_cb(cb)  # MixUp mixes only training batches, but leave nothing to chance
    with learn.no_bar(), learn.no_logging(): _, acc = learn.validate()
    return float(acc), train_loss, len(data.train_ds)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data')
    p.add_argument('--split', choices=('primary', 'alt'), default='primary')
    p.add_argument('--epochs', type=int, default=12)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--hop-length', type=int, default=256, help='STFT hop in samples (512 halves the cost)')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--subset', type=float, default=1.0, help='fraction of each class\'s training clips')
    p.add_argument('--recipes', default='none,preset,masks,filter,gain + noise,pitch,stretch + shift,speed,reverb,mixup')
    p.add_argument('--pattern', default=r'(\w+)_\w+_\d+-\d+-\d+.wav$', help='label regex on file names')
    p.add_argument('--baseline', type=float, default=None,
                   help="mean valid accuracy of 'none' from an earlier run at the same budget (for the last column)")
    p.add_argument('--append', action='store_true')
    a = p.parse_args(argv)
    root = Path(a.data) / ('alt_program_split' if a.split == 'alt' else '')
    names = [r.strip() for r in a.recipes.split(',')]
    unknown = sorted(set(names) - set(recipes()))
    if unknown: p.error(f'unknown recipes {unknown}; known: {", ".join(recipes())}')
    base = a.baseline
    for name in names:
        t0 = time.time()
        res = [run(root, name, s, a.epochs, a.lr, a.bs, a.subset, a.pattern, a.hop_length) for s in a.seeds]
        accs = [r[0] for r in res]
        mean = statistics.mean(accs)
        if name == 'none': base = mean
        diff = '' if base is None or name == 'none' else f'{100 * (mean - base):+.1f} points'
        cells = [a.split, f'{a.subset:g} ({res[0][2]} clips)', f'{a.epochs} (hop {a.hop_length})', name, ' '.join(map(str, a.seeds)),
                 f'{mean:.3f} ({min(accs):.3f}-{max(accs):.3f})', f'{statistics.mean(r[1] for r in res):.3f}', diff]
        print(' | '.join(map(str, cells)), f'({time.time() - t0:.0f} s)', flush=True)
        if a.append: append_row('augmentation study', [today(), f'`{command()}`', machine(), *cells])


if __name__ == '__main__':
    main()
