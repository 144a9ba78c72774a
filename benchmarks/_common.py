"Shared by the benchmark scripts: machine description and appending a row to benchmarks/README.md."
import os
import platform
import shlex
import sys
import time
from datetime import date
from pathlib import Path

README = Path(__file__).with_name('README.md')


def machine() -> str:
    import torch
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'
    return f'{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {gpu}'


def command() -> str: return 'python ' + ' '.join(shlex.quote(a) for a in [Path(sys.argv[0]).as_posix()] + sys.argv[1:])


def append_row(table: str, cells: list):
    "Append a row to the table whose header line starts with `| {table} |` in benchmarks/README.md."
    lines = README.read_text().splitlines()
    head = next(i for i, l in enumerate(lines) if l.startswith(f'| {table} |'))
    end = head + 2
    while end < len(lines) and lines[end].startswith('|'): end += 1
    lines.insert(end, '| ' + ' | '.join(str(c) for c in cells) + ' |')
    README.write_text('\n'.join(lines) + '\n')


def today() -> str: return date.today().isoformat()


def best_of(f, repeats: int, sync=None) -> float:
    "Seconds of the fastest of `repeats` calls of `f` after one warm-up call; `sync` (e.g. cuda.synchronize) around each."
    sync = sync or (lambda: None)
    f()
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        f()
        sync()
        times.append(time.perf_counter() - t0)
    return min(times)


def loader_clips_per_second(dls, repeats: int) -> tuple[float, int]:
    """(best clips/s, clips an epoch) of `repeats` training epochs of `dls` (shuffled, the last partial batch kept)
    after a warm-up one (`best_of`)."""
    dl = dls.train.new(shuffle=True, drop_last=False)
    counts = []
    seconds = best_of(lambda: counts.append(sum(len(b[0]) for b in dl)), repeats)
    return counts[-1] / seconds, counts[-1]


def training_parser(doc: str, epochs: int = 3, lr: float = 1e-3, bs: int = 64):
    "The arguments every training benchmark takes: DATA, --epochs, --lr, --bs, --seed, --append."
    import argparse
    p = argparse.ArgumentParser(description=doc.split('\n')[0])
    p.add_argument('data')
    p.add_argument('--epochs', type=int, default=epochs)
    p.add_argument('--lr', type=float, default=lr)
    p.add_argument('--bs', type=int, default=bs)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--append', action='store_true', help='add the result row to benchmarks/README.md')
    return p


def epoch_timer():
    "A fastai callback recording each epoch's seconds (train + valid) in `.times`."
    from fastai.callback.core import Callback

    class EpochTimer(Callback):
        def before_fit(self): self.times = []
        def before_epoch(self): self.t0 = time.time()
        def after_epoch(self): self.times.append(time.time() - self.t0)
    return EpochTimer()
