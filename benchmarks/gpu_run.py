"""The GPU run (issue 16), prepared: every GPU row of benchmarks/README.md in one command of a few minutes.

    python benchmarks/gpu_run.py --device cuda --out OUT/gpu_run.md          # on the GPU machine
    python benchmarks/gpu_run.py --device cpu --smoke --out /tmp/gpu_run.md   # tiny sizes: the suite runs this

It writes one markdown table (device, versions and date in every row) and prints it:

1. the log-mel front end on the device versus librosa clip by clip (CPU) and versus torchaudio's
   `MelSpectrogram` + `AmplitudeToDB` on the same device (torchaudio is imported only here, and only if it
   imports: the GPU machine's image has it; the package itself never imports it);
2. the augmentation preset (`audio_aug_transforms()`) versus one resnet18 training step on the same batch
   (goal on a GPU: under 10%);
3. one training epoch on the fly versus on precomputed spectrograms in memory, fp32 and bf16 + channels-last
   (goal on a GPU: within 5%), on clips generated on the machine (`make_synthetic_dataset`);
4. peak GPU memory after each of five epochs (flat: no leak);
5. for each `--source` (files decoded item by item, the memmap cache, WebDataset shards; issue 27): the epoch of 3.
   from that source, and a resnet18 training step fed by the loader against the same step on one batch already on
   the device (the loader keeps the GPU busy when the two are equal);
6. whether any batch transform synchronises with the host (`torch.cuda.set_sync_debug_mode('error')`).

Packages needed beyond torch, torchvision and numpy (the GPU image lacks them; carry their wheels): fastai,
fastcore, fasttransform, fastprogress, fastdownload, plum-dispatch (and its beartype, typing-extensions),
librosa (with audioread, pooch, lazy-loader, soundfile, soxr, numba, scipy, scikit-learn, joblib, decorator,
msgpack, platformdirs), webdataset (for `--source shards`), pandas, and this package.
"""
import argparse
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_of, machine  # noqa: E402


def torchaudio_rate(device, clips, seconds, repeats):
    "Clips a second through torchaudio's MelSpectrogram + AmplitudeToDB on `device`, or None if it does not import."
    try:
        import torchaudio
    except Exception as e:                                          # absent, or broken next to this torch
        return None, f'{type(e).__name__}: {str(e).splitlines()[0][:80]}'
    import torch
    x = torch.randn(clips, int(16000 * seconds), device=device) * 0.1
    mel = torchaudio.transforms.MelSpectrogram(16000, n_fft=1024, hop_length=256, n_mels=40, norm='slaney',
                                               mel_scale='slaney').to(device)
    db = torchaudio.transforms.AmplitudeToDB(top_db=80.0).to(device)
    sync = torch.cuda.synchronize if x.device.type == 'cuda' else None

    def run():
        with torch.no_grad(): return db(mel(x))
    return clips / best_of(run, repeats, sync), f'torchaudio {torchaudio.__version__}'


def sync_check(device):
    "'none' when the preset and the front end run on a batch without a host synchronisation, else the first one."
    import torch
    if torch.device(device).type != 'cuda': return 'not checked (no CUDA device)'
    import fastai_audio as fa
    from fastai_audio import AudioTensor, audio_aug_transforms, get_frequency_batch_transforms
    x = AudioTensor(torch.randn(8, 1, 32000, device=device) * 0.1, sr=16000)
    augs = audio_aug_transforms(p=1.0, **fa.FULL_PRESET)           # every family of the preset, each time
    front = get_frequency_batch_transforms(normalize=None)

    from augment_cost import through_preset

    def batch(): return through_preset(x, augs, front)

    batch()                                                          # warm-up: constants built once
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try: batch()
    except RuntimeError as e: return f'SYNC: {str(e).splitlines()[0][:120]}'
    finally: torch.cuda.set_sync_debug_mode('default')
    return 'none'


def step_times(dls, device, steps):
    """Seconds of one resnet18 training step (SGD) fed by the training loader of `dls` (batch transforms included), and
    of the same step repeated on one batch already on the device: (with the loader, without)."""
    import torch
    import fastai_audio as fa
    learn = fa.audio_learner(dls, fa.models.resnet18(num_classes=len(dls.vocab)), metrics=[])
    model, loss_func = learn.model.to(device).train(), learn.loss_func
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    sync = torch.cuda.synchronize if torch.device(device).type == 'cuda' else (lambda: None)

    def step(xb, yb):
        loss = loss_func(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()

    def timed(batches):
        n, t0 = 0, None
        for i, (xb, yb) in enumerate(batches):
            if i == 2: sync(); t0 = time.perf_counter()                 # after two warm-up steps
            step(xb, yb)
            n += i >= 2
            if n == steps: break
        sync()
        return (time.perf_counter() - t0) / max(1, n)

    def fed():                                                           # epochs of the loader, as many as needed
        while True: yield from dls.train

    xb, yb = dls.train.one_batch()
    return timed(fed()), timed((xb, yb) for _ in iter(int, 1))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--device', default='cuda')
    p.add_argument('--out', default=None, help='markdown file to write the table to')
    p.add_argument('--clips', type=int, default=1280, help='training clips of the epoch comparison')
    p.add_argument('--smoke', action='store_true', help='tiny sizes, to check that the script runs')
    p.add_argument('--source', default='files,memmap,shards',
                   help='where the epoch and the fed steps read their clips: files, memmap, shards (several: each)')
    a = p.parse_args(argv)
    import torch
    import fastai
    import fastai_audio as fa
    from epoch_ratio import measure as epoch_measure
    from augment_cost import measure as augment_measure
    from frontend_throughput import measure as frontend_measure
    t_start = time.time()
    small = a.smoke
    clips, seconds, repeats = (4, 0.5, 1) if small else (64, 4.0, 10)
    where = f'{machine()}, fastai {fastai.__version__}, python {platform.python_version()}'
    rows = []

    def row(what, value, goal=''):
        rows.append((what, value, goal))
        print(f'{what}: {value}  {goal}', flush=True)

    r_lib, r_ours = frontend_measure(a.device, clips, seconds, repeats)
    row('log-mel, librosa clip by clip (CPU)', f'{r_lib:.0f} clips/s')
    row(f'log-mel, batch transform on {a.device}', f'{r_ours:.0f} clips/s ({r_ours / r_lib:.1f}x librosa)')
    r_ta, how = torchaudio_rate(a.device, clips, seconds, repeats)
    row(f'log-mel, torchaudio MelSpectrogram on {a.device}',
        'unavailable: ' + how if r_ta is None else f'{r_ta:.0f} clips/s ({how}); ours {r_ours / r_ta:.2f}x it')
    m = augment_measure(a.device, 0.5, repeats, bs=4 if small else 64, seconds=seconds, each=False)
    row('augmentation preset (p=0.5) / resnet18 training step', f"{1000 * m['preset']:.1f} ms / {1000 * m['step']:.1f} ms"
        f" = {100 * m['preset'] / m['step']:.1f}%", 'goal on a GPU: < 10%')
    with tempfile.TemporaryDirectory() as tmp:
        import os
        from feed import loaders, split_files, write_source_shards
        before = os.environ.get('FASTAI_AUDIO_CACHE')
        os.environ['FASTAI_AUDIO_CACHE'] = tmp                          # the memmap stores, removed with `tmp`
        n_train = 2 if small else a.clips // 5
        path = fa.make_synthetic_dataset(Path(tmp) / 'synth', n_train=n_train, n_valid=max(2, n_train // 10),
                                         duration=seconds, seed=0)
        items = fa.AudioItemList.from_folder(path).split_by_folder().label_from_re(fa.NSYNTH_PATTERN)
        train, valid = split_files(path)
        shards = write_source_shards(str(path), train, valid, Path(tmp) / 'shards')
        bs, workers = (4, (0,)) if small else (64, (0, min(8, fastai.torch_core.defaults.cpus)))
        for source in a.source.split(','):
            make = lambda w: loaders(source, str(path), train, valid, shards, w, bs=bs, seconds=seconds,   # noqa: E731
                                     device=a.device)
            make(0)                                                      # a memmap store is built before the clock
            for options in (dict(), dict(precision='bf16', channels_last=True)):
                if options and torch.device(a.device).type != 'cuda': continue      # bf16 autocast is for the GPU
                memory = [] if not options and source == 'files' else None
                results, pre_t = epoch_measure(items, workers, a.device, bs=bs, duration=seconds,
                                               epochs=1 if small else 5, memory=memory, make_dls=make, **options)
                for k, v in results.items():
                    row(f'epoch on the fly ({k}, {source}) / precomputed', f'{v:.2f} s / {pre_t:.2f} s = x{v / pre_t:.2f}',
                        'goal on a GPU: within 5%')
                if memory: row('peak GPU memory after each epoch', ', '.join(f'{b / 2 ** 20:.0f} MiB' for b in memory),
                               'flat')
            for w in workers:
                fed, alone = step_times(make(w), a.device, 3 if small else 50)
                row(f'resnet18 step fed by the loader ({source}, {w} workers) / on one batch on the device',
                    f'{1000 * fed:.1f} ms / {1000 * alone:.1f} ms = x{fed / alone:.2f}', 'x1.00: the loader keeps up')
        if before is None: os.environ.pop('FASTAI_AUDIO_CACHE')
        else: os.environ['FASTAI_AUDIO_CACHE'] = before
    row('host synchronisations in the batch transforms', sync_check(a.device), 'none')
    lines = ['| gpu run | machine | measurement | value | goal |', '| --- | --- | --- | --- | --- |']
    lines += [f'| {date.today().isoformat()} | {where} | {w} | {v} | {g} |' for w, v, g in rows]
    text = '\n'.join(lines) + '\n'
    print(text, f'({time.time() - t_start:.0f} s)')
    if a.out: Path(a.out).write_text(text)
    return rows


if __name__ == '__main__':
    main()
