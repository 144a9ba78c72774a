"""Benchmark (a): the classic recipe on NSynth-GM, train -> valid accuracy and epoch time.

    python ../shared/datasets/make_nsynth_gm.py --out DATA/nsynth_gm      # once, ~70 s, outside the repo
    python benchmarks/nsynth_classic.py DATA/nsynth_gm [--epochs 3] [--lr 1e-3] [--aug] [--append]

40 mels, n_fft 1024, hop 256 at 16 kHz, resnet18 with pretrained=False, fit_one_cycle, spectrograms
computed per batch on the fly. `--aug` adds `audio_aug_transforms()` (or only the named ones with
`--aug-only PitchShift,TimeMask`). `--append` adds the result row to benchmarks/README.md.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, command, epoch_timer, machine, today, training_parser  # noqa: E402


def main():
    p = training_parser(__doc__)
    p.add_argument('--aug', action='store_true', help='train with audio_aug_transforms()')
    p.add_argument('--aug-only', default=None, help='comma-separated class names to keep from the preset')
    a = p.parse_args()
    from fastai_audio import (AudioItemList, accuracy, audio_aug_transforms, create_cnn,
                              get_frequency_batch_transforms, models, set_seed)
    set_seed(a.seed)
    pattern = r'(\w+)_\w+_\d+-\d+-\d+.wav$'
    tfms = get_frequency_batch_transforms(n_fft=1024, hop_length=256, n_mels=40, sr=16000)
    if a.aug or a.aug_only:
        augs = audio_aug_transforms()
        if a.aug_only: augs = [t for t in augs if type(t).__name__ in a.aug_only.split(',')]
        print('augmentations:', ', '.join(type(t).__name__ for t in augs))
        tfms = augs + tfms
    data = (AudioItemList.from_folder(a.data, folders=['train', 'valid']).split_by_folder()
            .label_from_re(pattern).databunch(bs=a.bs, tfms=tfms))
    print(f'{len(data.train_ds)} train / {len(data.valid_ds)} valid clips, {len(data.vocab)} classes')
    timer = epoch_timer()
    learn = create_cnn(data, models.resnet18, metrics=accuracy, pretrained=False, cbs=timer)
    learn.fit_one_cycle(a.epochs, a.lr)
    acc = float(learn.recorder.values[-1][2])
    ep = sum(timer.times) / len(timer.times)
    print(f'valid accuracy {acc:.4f}; mean epoch {ep:.1f} s (train + valid); epochs: '
          + ', '.join(f'{t:.0f}' for t in timer.times))
    if a.append:
        append_row('nsynth', [today(), f'`{command()}`', machine(), a.epochs, f'{acc:.3f}', f'{ep:.0f} s'])


if __name__ == '__main__':
    main()
