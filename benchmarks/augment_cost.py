"""Benchmark (issue 3): the cost of the `audio_aug_transforms()` preset on a batch of 64 clips of 4 s, as a
ratio to one resnet18 training step (forward, backward, Adam step) on the same batch's log-mel spectrograms.

    python benchmarks/augment_cost.py [--device cpu|cuda] [--p 0.5] [--append]

The preset runs as on a training batch (its waveform augmentations each pick a clip with probability `--p`;
the masks always apply). Best of `--repeats` timed runs after a warm-up. Every augmentation of the package
(the preset's and the others) is also timed alone at the same `p`, one row each in table (c2).
"""
import argparse
import tempfile
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, best_of, command, machine, today  # noqa: E402


def through_preset(x, augs, front):
    "A training batch `x` through the waveform augmentations, the front end `front`, then the spectrogram ones."
    for t in sorted(augs, key=lambda t: t.order):
        if t.order < 50: x = t(x, split_idx=0)
    for t in front: x = t(x)
    for t in sorted(augs, key=lambda t: t.order):
        if t.order >= 50: x = t(x, split_idx=0)
    return x


def measure(device='cpu', p=0.5, repeats=5, bs=64, seconds=4.0, each=True) -> dict:
    """Seconds of the preset (`audio_aug_transforms(p=p)`, its defaults; front end excluded), of one resnet18 training step on
    the same batch of `bs` clips of `seconds` s, and (`each`) of every augmentation applied alone."""
    import torch
    import torchvision
    import fastai_audio as fa
    from fastai_audio import AudioTensor, adapt_first_conv, audio_aug_transforms, get_frequency_batch_transforms
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    y = np.random.default_rng(0).standard_normal((bs, 1, int(16000 * seconds))).astype(np.float32) * 0.1
    x = AudioTensor(torch.from_numpy(y), sr=16000).to(dev)
    augs = audio_aug_transforms(p=p)
    front = get_frequency_batch_transforms(normalize=None)

    def run_front():
        s = x
        for t in front: s = t(s)
        return s

    def run_augs(): return through_preset(x, augs, front)

    every = audio_aug_transforms(p=p, **fa.FULL_PRESET) + [fa.PolarityInversion(p=p), fa.Reverb(p=p), fa.SpeedPerturb(p=p), fa.LevelNormalize(p=p),
                    fa.Distortion(p=p), fa.TimeReversal(p=p), fa.WaveformCutout(p=p),
                    fa.RandomFilter(kinds=fa.FILTER_KINDS, p=p),
                    fa.OneOf([fa.Gain(), fa.SpeedPerturb(), fa.Distortion()], p=p)]
    with tempfile.TemporaryDirectory() as bg:               # AddBackground: 10 s of noise, whole and as short events
        import soundfile as sf
        sf.write(f'{bg}/noise.wav', np.random.default_rng(1).standard_normal(160000).astype(np.float32) * 0.1, 16000)
        every += [fa.AddBackground(bg, p=p), fa.AddBackground(bg, p=p, event_duration=(0.05, 0.5))]
        for t in every[-2:]: t(x, split_idx=0)            # read once

    def per_aug():
        res = {}
        for t in every:
            inp = x if t.order < 50 else run_front()
            name = type(t).__name__ + (' (all 7 kinds)' if isinstance(t, fa.RandomFilter) and len(t.kinds) == 7 else '') \
                + (' (short events)' if getattr(t, 'event_duration', None) else '')
            res[name] = best_of(lambda: t(inp, split_idx=0), repeats, sync)
        return res

    inp = run_front().as_subclass(torch.Tensor)
    model = adapt_first_conv(torchvision.models.resnet18(num_classes=11), 1).to(dev)
    opt = torch.optim.Adam(model.parameters())
    target = torch.randint(0, 11, (bs,), device=dev)

    def step():
        loss = torch.nn.functional.cross_entropy(model(inp), target)
        loss.backward()
        opt.step()
        opt.zero_grad()

    with torch.no_grad(): t_aug = best_of(run_augs, repeats, sync) - best_of(run_front, repeats, sync)
    t_step = best_of(step, repeats, sync)
    with torch.no_grad(): parts = per_aug() if each else {}
    return dict(preset=t_aug, step=t_step, parts=parts)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--device', default='cpu')
    p.add_argument('--p', type=float, default=0.5)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--append', action='store_true')
    a = p.parse_args()
    m = measure(a.device, a.p, a.repeats)
    t_aug, t_step, parts = m['preset'], m['step'], m['parts']
    print(f'preset (p={a.p}) {t_aug * 1000:.0f} ms; resnet18 training step {t_step * 1000:.0f} ms; '
          f'ratio {100 * t_aug / t_step:.1f}%')
    print('each augmentation applied alone:', ', '.join(f'{k} {v * 1000:.0f} ms' for k, v in parts.items()))
    if a.append:
        append_row('augment cost', [today(), f'`{command()}`', machine(), a.device, f'{t_aug * 1000:.0f} ms',
                                    f'{t_step * 1000:.0f} ms', f'{100 * t_aug / t_step:.1f}%'])
        for k, v in parts.items():
            append_row('augmentation alone', [today(), f'`{command()}`', machine(), a.device, k, a.p,
                                              f'{v * 1000:.0f} ms', f'{100 * v / t_step:.1f}%'])


if __name__ == '__main__':
    main()
