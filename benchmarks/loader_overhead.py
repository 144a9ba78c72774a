"""Benchmark (issue 16): what the DataLoader adds to decoding, per clip.

    python benchmarks/loader_overhead.py DATA/nsynth_gm [--clips 640] [--log-mel] [--append]

The same `--clips` NSynth-GM training notes (4 s, 16 kHz WAV) decoded one by one with `load_audio`, and through
the package's DataLoaders (random 4 s crops, batches of 64, no batch transforms, 0 workers): seconds a clip each,
best of 3 passes after a warm-up, and the ratio.

`--log-mel` (the issue 16 goal): what a user runs, librosa clip by clip (`librosa.load` at 16 kHz, then
`melspectrogram` + `power_to_db` with the classic front end's settings: n_fft 1024, hop 256, 40 mels) against the
DataLoaders with that front end as their batch transform (`get_frequency_batch_transforms`, normalisation
off), per clip, best of 3; the speed-up is librosa's time over ours (goal: at least x3).
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, best_of, command, machine, today  # noqa: E402


def _clips_and_loader(a, tfms):
    """The `--clips` training notes, and a loader over them (random 4 s crops, batches of 64, 0 workers, batch
    transforms `tfms`) that goes through every one of them once a pass."""
    import fastai_audio as fa
    root = Path(a.data)
    train = sorted(fa.get_audio_files(root / 'train'))[::max(1, 5121 // a.clips)][:a.clips]
    files = train + sorted(fa.get_audio_files(root / 'valid'))[:64]
    dls = (fa.AudioItemList(files, root).split_by_folder().label_from_re(r'(\w+)_\w+_\d+-\d+-\d+.wav$')
           .databunch(bs=64, duration=4.0, num_workers=0, tfms=tfms))
    return train, dls.train.new(shuffle=True, drop_last=False)


def _per_clip(f, n: int) -> float:
    "Seconds a clip: the fastest of 3 passes of `f` over `n` clips, after a warm-up."
    return best_of(f, 3) / n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data')
    p.add_argument('--clips', type=int, default=640)
    p.add_argument('--log-mel', action='store_true', help='loader + log-mel against librosa (see above)')
    p.add_argument('--append', action='store_true')
    a = p.parse_args(argv)
    if a.log_mel: return log_mel(a)
    import fastai_audio as fa
    train, dl = _clips_and_loader(a, [])

    def through_loader():
        for _ in dl: pass

    def one_by_one():
        for f in train: fa.load_audio(f, sr=16000)

    res = {'load_audio one by one': _per_clip(one_by_one, len(train)), 'DataLoaders': _per_clip(through_loader, len(train))}
    ratio = res['DataLoaders'] / res['load_audio one by one']
    print(', '.join(f'{k}: {1000 * v:.2f} ms a clip' for k, v in res.items()), f'; loader / decode x{ratio:.2f}')
    if a.append:
        append_row('loader overhead', [today(), f'`{command()}`', machine(), len(train),
                                       f"{1000 * res['load_audio one by one']:.2f} ms", f"{1000 * res['DataLoaders']:.2f} ms",
                                       f'x{ratio:.2f}'])


def log_mel(a):
    import librosa
    import fastai_audio as fa
    import torch
    tfms = fa.get_frequency_batch_transforms(normalize=None)
    fe = tfms[0]                                  # the mel spectrogram: its n_fft, hop, bands
    train, dl = _clips_and_loader(a, tfms)

    def ours():
        with torch.no_grad():
            for _ in dl: pass

    def theirs():
        for f in train:
            y, _ = librosa.load(f, sr=16000)
            librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=16000, n_fft=fe.n_fft, hop_length=fe.hop_length,
                                                               n_mels=fe.n_mels, fmin=fe.f_min, fmax=fe.f_max or 8000))

    t_lib, t_ours = _per_clip(theirs, len(train)), _per_clip(ours, len(train))
    print(f'librosa: {1000 * t_lib:.2f} ms a clip, DataLoaders + log-mel: {1000 * t_ours:.2f} ms; x{t_lib / t_ours:.2f}'
          f' (threads {torch.get_num_threads()}, n_fft {fe.n_fft}, hop {fe.hop_length}, {fe.n_mels} mels)')
    if a.append:
        append_row('loader + log-mel', [today(), f'`{command()}`', machine(), len(train), f'{1000 * t_lib:.2f} ms',
                                        f'{1000 * t_ours:.2f} ms', f'x{t_lib / t_ours:.2f}'])


if __name__ == '__main__':
    main()
