"""Benchmark (issue 15): each registered audio backbone's size and one training step on the CPU.

    python benchmarks/backbones.py [--bs 16] [--seconds 4] [--repeats 3] [--append]

For each entry of `list_audio_models()` (random weights, the official layout): trainable parameters, and the
best of `--repeats` forward + backward + Adam steps on a batch of `--bs` clips of `--seconds` seconds, their
log-mel spectrograms computed beforehand with the entry's own front end (as the loaders would).
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, best_of, command, machine, today  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--bs', type=int, default=16)
    p.add_argument('--seconds', type=float, default=4.0)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--only', default='', help='only the entries whose name contains this')
    p.add_argument('--append', action='store_true')
    a = p.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads)
    from fastai_audio import AudioTensor, audio_model_front_end, create_audio_model, list_audio_models
    for name in [n for n in list_audio_models() if a.only in n]:
        fe = audio_model_front_end(name)
        x = AudioTensor(torch.randn(a.bs, 1, int(a.seconds * fe.sample_rate)) * 0.1, sr=fe.sample_rate)
        for t in fe.batch_tfms(): x = t(x)
        x = x.as_subclass(torch.Tensor)
        model = create_audio_model(name, 10, pretrained=False)
        opt = torch.optim.Adam([q for q in model.parameters() if q.requires_grad])
        y = torch.randint(0, 10, (a.bs,))

        def step():
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()

        n = sum(q.numel() for q in model.parameters() if q.requires_grad)
        t = best_of(step, a.repeats)
        print(f'{name}: {n / 1e6:.1f} M trainable parameters, input {tuple(x.shape)}, step {t:.2f} s', flush=True)
        if a.append:
            append_row('backbone', [today(), f'`{command()}`', machine(), name, f'{n / 1e6:.1f} M', f'{fe.sample_rate} Hz',
                                    f'{a.bs} x {a.seconds:g} s', f'{t:.2f} s'])


if __name__ == '__main__':
    main()
