"""Each training test's setup under many seeds: min / median / max of what its test asserts.

    python benchmarks/training_seeds.py [--seeds 8] [--threads 2] [--only classic] [--append]

The setups are tests/training_setups.py's, the same functions the fixtures call, so this measures exactly what
the suite trains. A threshold in a test must sit clearly beyond the worst seed here.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tests'))

from _common import append_row, command, machine, today  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=8)
    p.add_argument('--threads', type=int, default=2, help='torch threads (the suite uses min(2, cores))')
    p.add_argument('--only', default='', help='run only the setups whose name contains this')
    p.add_argument('--append', action='store_true', help='add the rows to benchmarks/README.md')
    a = p.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads)
    import training_setups
    for name, (setup, outcome) in training_setups.SETUPS.items():
        if a.only not in name: continue
        results, t0 = [], time.time()
        for seed in range(a.seeds):
            with tempfile.TemporaryDirectory() as d:
                learn = setup(Path(d), seed=seed)
                results.append(outcome(learn, Path(d)))
            print(f'{name} seed {seed}: ' + ', '.join(f'{k} {v:.3f}' for k, v in results[-1].items()), flush=True)
        secs = (time.time() - t0) / a.seeds
        for key in results[0]:
            vals = [r[key] for r in results]
            cells = [name, key, a.seeds, f'{min(vals):.3f}', f'{statistics.median(vals):.3f}', f'{max(vals):.3f}',
                     f'{secs:.0f} s', f'`{command()}`', machine() + f', {a.threads} threads', today()]
            print(' | '.join(map(str, cells)))
            if a.append: append_row('training test', cells)


if __name__ == '__main__':
    main()
