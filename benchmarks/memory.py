"""Benchmark (j): peak memory when the dataset grows tenfold. Audio is decoded lazily, item by item, so the peak
resident memory of an epoch over 10x the clips should stay where it was.

    python benchmarks/memory.py [--clips 200] [--seconds 4] [--append]

Each size runs in a fresh process (peak RSS cannot be reset): one epoch through the loader and the log-mel
batch transforms, 0 workers, batches of 64. The 10x dataset repeats the list of files (same files, 10x items).
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, command, machine, today  # noqa: E402


def epoch(folder, repeat):
    "One epoch over the clips of `folder` listed `repeat` times; prints the peak RSS in MiB as JSON."
    from fastai_audio import AudioItemList, get_audio_files
    files = sorted(get_audio_files(folder)) * repeat
    items = AudioItemList(files, folder).split_by_rand_pct(0.1, seed=0).label_from_re(r'(c\d)_')
    dls = items.databunch(bs=64, duration=4.0, num_workers=0)
    n = sum(len(b[0]) for b in dls.train)
    print(json.dumps(dict(items=len(files), seen=n, peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--clips', type=int, default=200)
    p.add_argument('--seconds', type=float, default=4.0)
    p.add_argument('--append', action='store_true')
    p.add_argument('--_epoch', nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a._epoch: return epoch(Path(a._epoch[0]), int(a._epoch[1]))
    from loading import write_clips
    with tempfile.TemporaryDirectory() as tmp:
        write_clips(Path(tmp), a.clips, 16000, a.seconds, 'wav')
        runs = []
        for repeat in (1, 10):
            out = subprocess.run([sys.executable, __file__, '--_epoch', tmp, str(repeat)], capture_output=True,
                                 text=True, check=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
    small, big = runs
    ratio = big['peak_mib'] / small['peak_mib']
    print(f"{small['items']} clips: peak {small['peak_mib']:.0f} MiB; {big['items']} clips: peak {big['peak_mib']:.0f} MiB "
          f'(x{ratio:.2f})')
    if a.append:
        append_row('memory', [today(), f'`{command()}`', machine(), small['items'], f"{small['peak_mib']:.0f} MiB",
                              big['items'], f"{big['peak_mib']:.0f} MiB", f'x{ratio:.2f}'])


if __name__ == '__main__':
    main()
