"""Benchmark (k): one training epoch with spectrograms computed on the fly versus the same training on
precomputed spectrogram tensors held in memory, as a ratio (issue 6 goal: within 15% on the CPU, 5% on a GPU).

    python benchmarks/epoch_ratio.py DATA/nsynth_gm [--clips 1280] [--workers 0,2] [--device cpu]
        [--precision bf16|fp16] [--channels-last] [--compile] [--append]

Both sides: the same network (torchvision resnet18, one input channel, its own 11-way classifier) from scratch, batches of 64, the classic front end (40 mels, 1024/256 at 16 kHz, 4 s
clips); precomputed = the same log-mel batches (dB, normalised) made once before timing, in a plain tensor
DataLoader. Times are of `fit(1)` after a warm-up epoch, training only (no validation). The speed options
(`audio_learner`'s mixed_precision, channels_last, compile) apply to both sides alike.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, command, machine, today  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument('data')
    p.add_argument('--clips', type=int, default=1280)
    p.add_argument('--workers', default='0,2')
    p.add_argument('--device', default='cpu')
    p.add_argument('--precision', default=None, choices=['fp16', 'bf16'])
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--compile', action='store_true')
    p.add_argument('--append', action='store_true')
    a = p.parse_args()
    import torch
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    from fastai_audio import AudioItemList, audio_learner, get_audio_files, models, set_seed
    files = sorted(get_audio_files(Path(a.data) / 'train'))[::max(1, 5121 // a.clips)][:a.clips]
    files += sorted(get_audio_files(Path(a.data) / 'valid'))[:64]
    items = AudioItemList(files, a.data).split_by_folder().label_from_re(r'(\w+?)_(?:acoustic|electronic|synthetic)_')

    def time_fit(learn):
        learn.fit(1, 1e-3)                                    # warm-up (and SpecNormalize set-up)
        t0 = time.perf_counter()
        learn.fit(1, 1e-3)
        return time.perf_counter() - t0

    speed = dict(mixed_precision=a.precision, channels_last=a.channels_last, compile=a.compile)
    options = ''.join(f', {o}' for o in (a.precision, a.channels_last and 'channels-last', a.compile and 'compiled') if o)
    results = {}
    for w in [int(x) for x in a.workers.split(',')]:
        set_seed(0)
        dls = items.databunch(bs=64, duration=4.0, num_workers=w, device=a.device)
        learn = audio_learner(dls, models.resnet18(num_classes=len(dls.vocab)), metrics=[], **speed)
        with learn.no_bar(), learn.no_logging(): results[f'on the fly, {w} workers{options}'] = time_fit(learn)
        if 'pre' not in results:                              # the same batches, precomputed once
            xs, ys = [], []
            for xb, yb in dls.train.new(shuffle=False, drop_last=False):
                xs.append(xb.as_subclass(torch.Tensor).cpu()); ys.append(yb.as_subclass(torch.Tensor).cpu())
            X, Y = torch.cat(xs), torch.cat(ys)
            pre = DataLoaders(DataLoader(list(zip(X, Y)), bs=64, shuffle=True, drop_last=True, device=a.device),
                              DataLoader(list(zip(X[:64], Y[:64])), bs=64, device=a.device), device=a.device)
            set_seed(0)
            plearn = audio_learner(pre, models.resnet18(num_classes=len(dls.vocab)), normalize=False, metrics=[],
                                   loss_func=torch.nn.CrossEntropyLoss(), **speed)
            with plearn.no_bar(), plearn.no_logging(): results['pre'] = time_fit(plearn)
    pre_t = results.pop('pre')
    for k, v in results.items():
        print(f'{k}: {v:.1f} s vs precomputed {pre_t:.1f} s: x{v / pre_t:.2f}')
        if a.append:
            append_row('epoch ratio', [today(), f'`{command()}`', machine(), a.device, len(files) - 64, k,
                                       f'{v:.1f} s', f'{pre_t:.1f} s', f'x{v / pre_t:.2f}'])


if __name__ == '__main__':
    main()
