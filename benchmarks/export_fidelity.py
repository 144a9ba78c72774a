"""Exported models against learn.predict, for every front end the package trains with (issue 13's table).

    python benchmarks/export_fidelity.py [--durations 0.5 2 10] [--only MFCC] [--append]

For each front end of tests/export_setups.py (and a stereo model), a small CNN is trained one epoch on the
synthetic NSynth-style set with crops of each training duration, exported in every format, and compared with
`learn.predict` on clips shorter than a window and of 1, 2, 3 and 10+ windows, with silent and near-silent
passages. The cell is the worst absolute probability difference over all of them (exact zeros show as 0).
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tests'))

from _common import append_row, command, machine, today  # noqa: E402

FORMATS = ('safetensors', 'torchscript', 'onnx', 'pt2')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--durations', type=float, nargs='+', default=[0.5, 2.0, 10.0])
    p.add_argument('--only', default='', help='only the front ends whose name contains this')
    p.add_argument('--append', action='store_true', help='add the rows to benchmarks/README.md')
    a = p.parse_args(argv)
    import torch
    torch.set_num_threads(2)
    import export_setups as E
    from fastai_audio.datasets.synth import make_synthetic_dataset
    tmp = Path(tempfile.mkdtemp())
    data = make_synthetic_dataset(tmp / 'synth', n_train=8, n_valid=4, seed=1)
    stereo = E.stereo_folder(tmp / 'stereo')
    cases = [(name, 1) for name in E.FRONT_ENDS] + [('classic log-mel (reflect)', 2)]
    print('| front end | ' + ' | '.join(FORMATS) + ' |')
    for name, channels in cases:
        label = name if channels == 1 else f'stereo (mono=False), {name}'
        if a.only not in label: continue
        t0, worst = time.time(), dict.fromkeys(FORMATS, 0.0)
        for d in a.durations:
            fe = E.front_end(name, channels)
            learn = E.learner(stereo if channels == 2 else data, fe, duration=d, stereo=channels == 2)
            forms = E.exported_forms(learn, tmp / f'{len(label)}-{d}', FORMATS,
                                     net_like=E.small_net(channels, len(learn.dls.vocab)))
            for k, v in E.worst_errors(learn, forms, E.lengths_for(d), channels).items(): worst[k] = max(worst[k], v)
        cells = [f'{worst[k]:.1e}' if worst[k] else '0' for k in FORMATS]
        print(f'| {label} | ' + ' | '.join(cells) + f' |   ({time.time() - t0:.0f} s)', flush=True)
        if a.append:
            append_row('export fidelity', [today(), f'`{command()}`', machine(), label,
                                           ', '.join(f'{d:g}' for d in a.durations), *cells])


if __name__ == '__main__':
    main()
