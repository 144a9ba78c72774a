"""Benchmark (q): feeding a GPU (issue 27), side by side for three sources of the same clips: the files decoded item
by item, the memmap cache (`cache='memmap'`) and WebDataset shards (`from_shards`).

    python benchmarks/feed.py DATA/nsynth_gm [--workers 0,2] [--seconds 4] [--epoch-clips 640]
        [--memory-clips 300] [--only throughput,epoch,memory] [--sources files,memmap,shards] [--profile] [--append]

1. throughput: clips a second through the training DataLoader (crop to `--seconds`, random; collate; no batch
   transforms), batches of 64, best of `--repeats` epochs after a warm-up epoch, per source and worker count.
   Goal on 2 cores: >= 20,000 clips/s in one process from the memmap cache; shards within 2x of it.
2. epoch: one resnet18 training epoch on the fly (log-mel batch transforms) against the same batches precomputed,
   per source (`epoch_ratio.measure`; `--rounds R`: R timings of each side in turn, the fastest of each). Goal:
   within 2%.
3. memory: peak and anonymous resident memory of one epoch in a fresh process, over N distinct clips and over 10N
   (synthetic 4 s WAVs written to a temporary folder, so that the store and the shards really grow tenfold).
   Goal: flat (the store is mapped, not loaded).

The stores, shards and synthetic clips live in a temporary folder (FASTAI_AUDIO_CACHE points there), built before
anything is timed. The machine may be shared: each row records the 1-minute load average when it was measured.
"""
import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, command, loader_clips_per_second, machine, today  # noqa: E402

SOURCES = ('files', 'memmap', 'shards')


def load() -> str: return f'load {os.getloadavg()[0]:.2f}'


def split_files(data, clips=0):
    "(train files, valid files) of an NSynth-style folder; `clips` > 0 takes that many training files, evenly spread."
    from fastai_audio import get_audio_files
    train = sorted(get_audio_files(Path(data) / 'train'))
    if clips: train = train[::max(1, len(train) // clips)][:clips]
    return train, sorted(get_audio_files(Path(data) / 'valid'))[:64]


def loaders(source, data, train, valid, shards, workers, *, bs=64, seconds=4.0, batch_tfms=None, device=None):
    "The AudioDataLoaders of `source` over the files `train` + `valid` (shards: already written under `shards`)."
    import fastai_audio as fa
    kw = dict(bs=bs, duration=seconds, num_workers=workers, device=device)
    if source == 'shards': return fa.AudioDataLoaders.from_shards(shards, batch_tfms=batch_tfms, **kw)
    items = fa.AudioItemList(train + valid, data).split_by_folder().label_from_re(fa.NSYNTH_PATTERN)
    return items.databunch(tfms=batch_tfms, cache='memmap' if source == 'memmap' else None, **kw)


def write_source_shards(data, train, valid, out, shard_size=1000):
    "The same clips as WebDataset shards under `out`."
    import re
    import pandas as pd
    from fastai_audio import NSYNTH_PATTERN, write_shards
    files = train + valid
    df = pd.DataFrame({'fn': [str(f) for f in files], 'label': [re.search(NSYNTH_PATTERN, f.name).group(1) for f in files],
                       'valid': [f in set(valid) for f in files]})
    write_shards(df, out, shard_size=shard_size, fn_col='fn', label_col='label', valid_col='valid', path='/')
    return out


def profile(dls, top=8) -> str:
    "cProfile of one training epoch of `dls`: the functions with the most time of their own."
    dl = dls.train.new(shuffle=True, drop_last=False)
    prof = cProfile.Profile()
    prof.enable()
    for _ in dl: pass
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats('tottime').print_stats(top)
    return out.getvalue()


def memory_epoch(source, data, n, shards, seconds):
    "One epoch over the first `n` training clips of `data` in this process; prints peak and anonymous RSS (MiB)."
    import torch
    from fastai_audio import get_frequency_batch_transforms
    torch.set_num_threads(1)
    train, valid = split_files(data, n)
    dls = loaders(source, data, train, valid[:8], shards, 0, bs=min(64, n), seconds=seconds,
                  batch_tfms=get_frequency_batch_transforms())
    seen = sum(len(b[0]) for b in dls.train)
    status = dict(line.split(':', 1) for line in Path('/proc/self/status').read_text().splitlines() if ':' in line)
    mib = lambda k: int(status[k].split()[0]) / 1024                                       # noqa: E731
    print(json.dumps(dict(items=len(train), seen=seen, peak_mib=mib('VmHWM'), anon_mib=mib('RssAnon'))))


def write_synthetic(folder, n, seconds=4.0):
    "`n` distinct 4 s 16-bit WAV clips of 4 classes in NSynth's naming, under folder/train, and 8 under folder/valid."
    import numpy as np
    import soundfile as sf
    rng = np.random.default_rng(0)
    for split, count in (('train', n), ('valid', 8)):
        (folder / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            y = (0.1 * rng.standard_normal(int(16000 * seconds))).astype(np.float32)
            sf.write(folder / split / f'c{i % 4}_synth_{i:05d}-000-100.wav', y, 16000, subtype='PCM_16')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data', nargs='?', help='an NSynth-style folder (train/, valid/); --smoke makes one')
    p.add_argument('--clips', type=int, default=0, help='training clips of the throughput rows (0: all)')
    p.add_argument('--workers', default='0,2')
    p.add_argument('--seconds', type=float, default=4.0)
    p.add_argument('--repeats', type=int, default=2)
    p.add_argument('--epoch-clips', type=int, default=640)
    p.add_argument('--rounds', type=int, default=1, help='epoch rows: timings of each side in turn, the fastest kept')
    p.add_argument('--memory-clips', type=int, default=300)
    p.add_argument('--only', default='throughput,epoch,memory')
    p.add_argument('--sources', default=','.join(SOURCES))
    p.add_argument('--profile', action='store_true', help='print where the time of a memmap and a shards epoch goes')
    p.add_argument('--smoke', action='store_true', help='tiny sizes on a synthetic folder, to check the script runs')
    p.add_argument('--append', action='store_true')
    p.add_argument('--_memory', nargs=5, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a._memory: return memory_epoch(*a._memory[:2], int(a._memory[2]), a._memory[3], float(a._memory[4]))
    only, workers, rows, bs = a.only.split(','), [int(w) for w in a.workers.split(',')], [], 64
    sources = [s for s in SOURCES if s in a.sources.split(',')]
    tmp = tempfile.TemporaryDirectory(prefix='feed_')
    before = os.environ.get('FASTAI_AUDIO_CACHE')
    os.environ['FASTAI_AUDIO_CACHE'] = tmp.name                          # the memmap stores: removed at the end
    root = Path(tmp.name)
    if a.smoke:
        from fastai_audio import make_synthetic_dataset
        a.data = str(make_synthetic_dataset(root / 'synth', n_train=4, n_valid=2, duration=0.5, seed=0))
        a.seconds, a.repeats, a.epoch_clips, a.memory_clips, bs = 0.25, 1, 0, 4, 4
        workers = [0]
    where = machine()

    def row(table, cells):
        rows.append((table, cells))
        print(table, '|', ' | '.join(map(str, cells)), flush=True)
        if a.append: append_row(table, [today(), f'`{command()}`', where, *cells])

    try:
        if 'throughput' in only:
            train, valid = split_files(a.data, a.clips)
            shards = write_source_shards(a.data, train, valid, root / 'shards')
            loaders('memmap', a.data, train, valid, shards, 0, seconds=a.seconds, batch_tfms=[])   # build the stores
            rates = {}
            for source in sources:
                for w in workers:
                    dls = loaders(source, a.data, train, valid, shards, w, seconds=a.seconds, batch_tfms=[])
                    rate, n = loader_clips_per_second(dls, a.repeats)
                    rates[source, w] = rate
                    ref = rates.get(('memmap', w))
                    vs = f'memmap / shards = x{ref / rate:.2f}' if ref and source == 'shards' else ''
                    row('feed', [source, w, n, f'{a.seconds:g} s random', f'{rate:.0f} clips/s', vs, load()])
                if a.profile and source != 'files':
                    print(profile(loaders(source, a.data, train, valid, shards, 0, seconds=a.seconds, batch_tfms=[])))
        if 'epoch' in only:
            from epoch_ratio import measure
            import fastai_audio as fa
            train, valid = split_files(a.data, a.epoch_clips)
            shards = write_source_shards(a.data, train, valid, root / 'epoch_shards')
            items = fa.AudioItemList(train + valid, a.data).split_by_folder().label_from_re(fa.NSYNTH_PATTERN)
            for source in sources:
                make = lambda w: loaders(source, a.data, train, valid, shards, w, bs=bs, seconds=a.seconds)   # noqa: E731
                make(0)                                                        # stores built before the clock
                results, pre_t = measure(items, workers, 'cpu', bs=bs, duration=a.seconds, make_dls=make,
                                         rounds=a.rounds)
                for k, v in results.items():
                    row('feed epoch', [source, len(train), k, f'{v:.1f} s', f'{pre_t:.1f} s', f'x{v / pre_t:.3f}', load()])
        if 'memory' in only:
            big = root / 'memory'
            write_synthetic(big, 10 * a.memory_clips, seconds=a.seconds if a.smoke else 4.0)
            train, valid = split_files(big)
            loaders('memmap', str(big), train, valid[:8], '', 0, bs=bs, seconds=a.seconds, batch_tfms=[])   # the store
            for source in sources:
                shards, runs = '', []
                for n in (a.memory_clips, 10 * a.memory_clips):
                    if source == 'shards':                                 # shards of the same n clips
                        tr, va = split_files(big, n)
                        shards = write_source_shards(big, tr, va[:8], root / f'memory_shards_{n}')
                    run = subprocess.run([sys.executable, __file__, '--_memory', source, str(big), str(n), str(shards),
                                          str(a.seconds)], capture_output=True, text=True, env=os.environ)
                    if run.returncode: raise RuntimeError(f'the {source} memory run failed:\n{run.stderr[-3000:]}')
                    runs.append(json.loads(run.stdout.strip().splitlines()[-1]))
                s, b = runs
                row('feed memory', [source, s['items'], f"{s['peak_mib']:.0f} MiB ({s['anon_mib']:.0f} anon)",
                                    b['items'], f"{b['peak_mib']:.0f} MiB ({b['anon_mib']:.0f} anon)",
                                    f"x{b['peak_mib'] / s['peak_mib']:.2f}", load()])
    finally:
        tmp.cleanup()
        if before is None: os.environ.pop('FASTAI_AUDIO_CACHE', None)
        else: os.environ['FASTAI_AUDIO_CACHE'] = before
    return rows


if __name__ == '__main__':
    main()
