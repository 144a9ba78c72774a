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


def measure(items, workers=(0, 2), device='cpu', precision=None, channels_last=False, compile=False, bs=64,
            duration=4.0, epochs=1, memory=None, make_dls=None, rounds=1) -> tuple[dict, float]:
    """({'on the fly, W workers...': seconds}, precomputed seconds): `fit(epochs)` after a warm-up epoch on the
    labelled `items` (an `AudioItemList` split and labelled), on the fly per worker count and once on the same
    batches precomputed. `memory`: a list receiving the peak CUDA memory (bytes) after each timed epoch of the
    first on-the-fly run. `make_dls(workers)`: the loaders to time instead of `items.databunch(...)` (another
    source: the memmap cache, shards). `rounds` > 1: that many timings of each side, on the fly and precomputed in
    turn, the fastest of each kept (on a shared machine a drifting load then falls on both sides alike)."""
    import torch
    from fastai.callback.core import Callback
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    from fastai_audio import audio_learner, models, set_seed

    class PeakMemory(Callback):
        def after_epoch(self):
            if memory is not None and torch.cuda.is_available(): memory.append(torch.cuda.max_memory_allocated())

    def timed(learn, cbs=()):
        t0 = time.perf_counter()
        with learn.no_bar(), learn.no_logging(): learn.fit(epochs, 1e-3, cbs=list(cbs))
        return (time.perf_counter() - t0) / epochs

    def time_fit(learn, cbs=()):
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)     # warm-up (and SpecNormalize set-up)
        return timed(learn, cbs)

    speed = dict(mixed_precision=precision, channels_last=channels_last, compile=compile)
    options = ''.join(f', {o}' for o in (precision, channels_last and 'channels-last', compile and 'compiled') if o)
    results, pre_t, learners = {}, None, {}
    for w in workers:
        set_seed(0)
        dls = make_dls(w) if make_dls else items.databunch(bs=bs, duration=duration, num_workers=w, device=device)
        learn = audio_learner(dls, models.resnet18(num_classes=len(dls.vocab)), metrics=[], **speed)
        cbs = [PeakMemory()] if memory is not None and not results else []
        key = f'on the fly, {w} workers{options}'
        results[key], learners[key] = time_fit(learn, cbs), learn
        if pre_t is None:                                     # the same batches, precomputed once
            xs, ys = [], []
            for xb, yb in dls.train.new(shuffle=False, drop_last=False):
                xs.append(xb.as_subclass(torch.Tensor).cpu()); ys.append(yb.as_subclass(torch.Tensor).cpu())
            X, Y = torch.cat(xs), torch.cat(ys)
            pre = DataLoaders(DataLoader(list(zip(X, Y)), bs=bs, shuffle=True, drop_last=True, device=device),
                              DataLoader(list(zip(X[:bs], Y[:bs])), bs=bs, device=device), device=device)
            set_seed(0)
            plearn = audio_learner(pre, models.resnet18(num_classes=len(dls.vocab)), normalize=False, metrics=[],
                                   loss_func=torch.nn.CrossEntropyLoss(), **speed)
            pre_t = time_fit(plearn)
    for _ in range(rounds - 1):                               # interleaved: each side's fastest
        for key, learn in learners.items():
            results[key] = min(results[key], timed(learn))
            pre_t = min(pre_t, timed(plearn))
    return results, pre_t


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
    from fastai_audio import AudioItemList, get_audio_files
    files = sorted(get_audio_files(Path(a.data) / 'train'))[::max(1, 5121 // a.clips)][:a.clips]
    files += sorted(get_audio_files(Path(a.data) / 'valid'))[:64]
    items = AudioItemList(files, a.data).split_by_folder().label_from_re(r'(\w+?)_(?:acoustic|electronic|synthetic)_')
    results, pre_t = measure(items, [int(x) for x in a.workers.split(',')], a.device, a.precision, a.channels_last,
                             a.compile)
    for k, v in results.items():
        print(f'{k}: {v:.1f} s vs precomputed {pre_t:.1f} s: x{v / pre_t:.2f}')
        if a.append:
            append_row('epoch ratio', [today(), f'`{command()}`', machine(), a.device, len(files) - 64, k,
                                       f'{v:.1f} s', f'{pre_t:.1f} s', f'x{v / pre_t:.2f}'])


if __name__ == '__main__':
    main()
