"""Benchmark (h): latency of one 10 s clip on the CPU: `learn.predict` versus the exported waveform-in model
in TorchScript and in ONNX (onnxruntime).

    python benchmarks/export_latency.py [--seconds 10] [--repeats 10] [--threads 2] [--append]

resnet18 (random weights: latency does not depend on them) on the classic front end (16 kHz, 1024/256,
40 mels), trained crops of 1 s, so a 10 s clip is 19 windows (hop 0.5 s). Best of `--repeats` after a warm-up.
"""
import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import append_row, best_of, command, machine, today  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--seconds', type=float, default=10.0)
    p.add_argument('--repeats', type=int, default=10)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--append', action='store_true')
    a = p.parse_args()
    import onnxruntime as ort
    import torch
    from fastai_audio import (AudioItemList, NSYNTH_PATTERN, audio_learner, export_waveform_model,
                              make_synthetic_dataset, models)
    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        data = make_synthetic_dataset(Path(tmp) / 'data', n_train=4, n_valid=2)
        dls = (AudioItemList.from_folder(data).split_by_folder().label_from_re(NSYNTH_PATTERN)
               .databunch(bs=8, duration=1.0, num_workers=0))
        learn = audio_learner(dls, models.resnet18, pretrained=False)
        path = export_waveform_model(learn, Path(tmp) / 'model')
        ts = torch.jit.load(str(path / 'model.ts'))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = a.threads
        onnx = ort.InferenceSession(str(path / 'model.onnx'), opts)
        y = (np.random.default_rng(0).standard_normal(int(16000 * a.seconds)) * 0.1).astype(np.float32)
        yt = torch.from_numpy(y)
        with learn.no_bar(): t_learn = best_of(lambda: learn.predict(y, sr=16000), a.repeats)

        def run_ts():
            with torch.no_grad(): ts(yt)
        t_ts = best_of(run_ts, a.repeats)
        t_onnx = best_of(lambda: onnx.run(None, {'waveform': y}), a.repeats)
    print(f'{a.seconds:g} s clip: learn.predict {t_learn * 1e3:.0f} ms, TorchScript {t_ts * 1e3:.0f} ms, '
          f'ONNX {t_onnx * 1e3:.0f} ms')
    if a.append:
        append_row('latency', [today(), f'`{command()}`', machine(), a.threads, f'{t_learn * 1e3:.0f} ms',
                               f'{t_ts * 1e3:.0f} ms', f'{t_onnx * 1e3:.0f} ms'])


if __name__ == '__main__':
    main()
