"""Benchmark (b): log-mel throughput, librosa clip by clip versus our batch transform.

    python benchmarks/frontend_throughput.py [--device cpu|cuda] [--clips 64] [--seconds 4] [--append]

64 clips of 4 s at 16 kHz; n_fft 1024, hop 256, 40 mels; dB with per-clip reference and top_db 80. Each side
runs `--repeats` times after a warm-up and the best time counts.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, best_of, command, machine, today  # noqa: E402


def measure(device='cpu', clips=64, seconds=4.0, repeats=5) -> tuple[float, float]:
    "Clips a second: (librosa clip by clip on the CPU, our batch transform on `device`)."
    import librosa
    import torch
    from fastai_audio import AmplitudeToDB, AudioTensor, MelSpectrogram
    sr = 16000
    y = (np.random.default_rng(0).standard_normal((clips, int(sr * seconds))) * 0.1).astype(np.float32)

    def lib():
        for yi in y:
            S = librosa.feature.melspectrogram(y=yi, sr=sr, n_fft=1024, hop_length=256, n_mels=40)
            librosa.power_to_db(S, ref=np.max, top_db=80.0)

    mel, db = MelSpectrogram(sr, n_fft=1024, hop_length=256, n_mels=40), AmplitudeToDB(top_db=80.0)
    x = AudioTensor(torch.from_numpy(y)[:, None], sr=sr).to(device)

    def ours():
        with torch.no_grad(): return db(mel(x))

    sync = torch.cuda.synchronize if x.device.type == 'cuda' else None
    return clips / best_of(lib, repeats), clips / best_of(ours, repeats, sync)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--device', default='cpu')
    p.add_argument('--clips', type=int, default=64)
    p.add_argument('--seconds', type=float, default=4.0)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--append', action='store_true')
    a = p.parse_args()
    r_lib, r_ours = measure(a.device, a.clips, a.seconds, a.repeats)
    print(f'librosa clip by clip: {r_lib:.0f} clips/s; batch transform on {a.device}: {r_ours:.0f} clips/s; '
          f'ratio {r_ours / r_lib:.1f}x')
    if a.append:
        append_row('throughput', [today(), f'`{command()}`', machine(), a.device, f'{r_lib:.0f}', f'{r_ours:.0f}',
                                  f'{r_ours / r_lib:.1f}x'])


if __name__ == '__main__':
    main()
