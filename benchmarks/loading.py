"""Benchmark (i): loading throughput, clips per second through the DataLoader (decode, resample, crop/pad, collate)
with 0, 1 and 2 workers, for WAV and FLAC sources at 16 kHz and 44.1 kHz, loaded at 16 kHz as 4 s crops.

    python benchmarks/loading.py [--clips 256] [--seconds 4] [--workers 0,1,2] [--append]

No batch transforms (waveforms only): this is the CPU side that feeds the device. Best of `--repeats` epochs
after one warm-up epoch (which also starts the workers).
"""
import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, command, loader_clips_per_second, machine, today  # noqa: E402


def write_clips(folder, n, sr, seconds, fmt):
    import soundfile as sf
    rng = np.random.default_rng(0)
    for split in ('train', 'valid'):
        (folder / split).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        y = (rng.standard_normal(int(sr * seconds)) * 0.1).astype(np.float32)
        sf.write(folder / 'train' / f'c{i % 4}_x_{i:04d}-000-000.{fmt}', y, sr, subtype='PCM_16')
    sf.write(folder / 'valid' / f'c0_x_9999-000-000.{fmt}', y, sr, subtype='PCM_16')


def clips_per_second(folder, workers, seconds, repeats, cache=None):
    from fastai_audio import AudioItemList
    dls = (AudioItemList.from_folder(folder).split_by_folder().label_from_re(r'(c\d)_')
           .databunch(bs=64, tfms=[], duration=seconds, num_workers=workers, sr=16000, cache=cache))
    return loader_clips_per_second(dls, repeats)[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--clips', type=int, default=256)
    p.add_argument('--seconds', type=float, default=4.0)
    p.add_argument('--workers', default='0,1,2')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--formats', default='wav,flac')
    p.add_argument('--rates', default='16000,44100')
    p.add_argument('--cache', default=None, help="'ram' or a folder: decoded clips cached (filled by the warm-up epoch)")
    p.add_argument('--append', action='store_true')
    a = p.parse_args()
    workers = [int(w) for w in a.workers.split(',')]
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in a.formats.split(','):
            for sr in [int(r) for r in a.rates.split(',')]:
                folder = Path(tmp) / f'{fmt}{sr}'
                write_clips(folder, a.clips, sr, a.seconds, fmt)
                rates = [clips_per_second(folder, w, a.seconds, a.repeats, a.cache) for w in workers]
                cells = [f'{r:.0f} ({r / max(1, w):.0f}/worker)' for r, w in zip(rates, workers)]
                print(f'{fmt} {sr} Hz: ' + ', '.join(f'{w} workers {c}' for w, c in zip(workers, cells)))
                if a.append:
                    fmt_cell = fmt.upper() + (f' (cache {a.cache})' if a.cache else '')
                    append_row('loading', [today(), f'`{command()}`', machine(), fmt_cell, f'{sr} Hz', *cells])


if __name__ == '__main__':
    main()
