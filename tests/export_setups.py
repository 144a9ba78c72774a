"""Export fidelity: train a learner a few steps with a given front end, export it, and measure how far each
exported form is from `learn.predict` on clips of 1, 2, 3 and 10+ windows (shorter than a window too), with
silent and near-silent passages. tests/test_export.py asserts on it; benchmarks/export_fidelity.py tables it.
"""
import copy
import json

import numpy as np
import torch
from torch import nn

from training_setups import tone, write

SR = 16000
#: The front ends of the issue's table and more: changes from FrontEnd(sample_rate=16000, n_fft=1024,
#: hop_length=256, n_mels=40) (ref 'max', top_db 80, dataset statistics).
FRONT_ENDS = {
    'classic log-mel (reflect)': dict(pad_mode='reflect'),
    'magnitude, htk, no top_db, per example': dict(power=1.0, htk=True, top_db=None, normalize='example'),
    'fixed ref, 128 mels 50-7000 Hz, center=False, win_length 400':
        dict(ref=1.0, n_mels=128, f_min=50.0, f_max=7000.0, center=False, win_length=400, mel_norm=None),
    "pad_mode='replicate'": dict(pad_mode='replicate'),
    "pad_mode='circular', hamming window": dict(pad_mode='circular', window_fn='hamming'),
    'MFCC (20)': dict(kind='mfcc', n_mfcc=20, ref=1.0),
    'linear -> dB -> normalise': dict(kind='linear', n_fft=256, hop_length=64),
    'linear power, no dB, no normalisation': dict(kind='linear', n_fft=256, hop_length=64, to_db=False,
                                                  normalize=None),
    'log-mel, per example, eps 1e-3': dict(normalize='example', eps=1e-3),
    'PCEN (magnitude mels)': dict(to_db=False, pcen=True, power=1.0),
}
#: Stacked front ends (three input channels): built on the base description, as `front_end` gives it.
STACKED = {
    'three resolutions (windows 1024 / 512 / 2048, hops 256 / 128 / 512)':
        lambda fe: fe.replace(views=(fe.replace(n_fft=512, hop_length=128, normalize=None),
                                     fe.replace(n_fft=2048, hop_length=512, normalize=None))),
    'log-mel + delta + PCEN': lambda fe: fe.replace(deltas=1, views=(fe.replace(to_db=False, pcen=True, power=1.0,
                                                                                 normalize=None),)),
}


def front_end(name: str, channels: int = 1):
    from fastai_audio import FrontEnd
    base = FrontEnd(sample_rate=SR, n_fft=1024, hop_length=256, n_mels=40, channels=channels)
    return STACKED[name](base) if name in STACKED else base.replace(**FRONT_ENDS[name])


def small_net(n_in: int, n_out: int) -> nn.Module:
    "A small CNN with batch norm (what froze the window count in ONNX), for `audio_learner(dls, net)`."
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(n_in, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(16, n_out))


def stereo_folder(root):
    "Two classes of stereo clips (1 s, 16 kHz): a tone panned left or right, 6 train and 3 valid each."
    rng = np.random.default_rng(0)
    for split, n in (('train', 6), ('valid', 3)):
        for label, gains in (('left', (0.9, 0.2)), ('right', (0.2, 0.9))):
            for i in range(n):
                y = tone(300 + 200 * i, SR, 1.0) + 0.02 * rng.standard_normal(SR).astype(np.float32)
                (root / split / label).mkdir(parents=True, exist_ok=True)
                write(root / split / label / f'{label}_{i}.wav', np.stack([y * gains[0], y * gains[1]], 1), SR)
    return root


def learner(path, fe, duration=0.5, steps_lr=1e-3, stereo=False, net=None):
    "A learner on `path` (train/ and valid/ class folders) with front end `fe`, trained one epoch."
    from fastai_audio import NSYNTH_PATTERN, AudioDataLoaders, AudioItemList, audio_learner, set_seed
    set_seed(0, reproducible=True)
    if stereo: dls = AudioDataLoaders.from_folder(path, sr=SR, duration=duration, mono=False, bs=8, num_workers=0,
                                                  batch_tfms=fe.batch_tfms())
    else: dls = (AudioItemList.from_folder(path, sr=SR).split_by_folder().label_from_re(NSYNTH_PATTERN)
                 .databunch(bs=8, duration=duration, tfms=fe.batch_tfms(), num_workers=0))
    learn = audio_learner(dls, net or small_net(fe.input_channels, len(dls.vocab)), normalize=fe.normalize is not None)
    learn.fit(1, steps_lr)
    return learn


def clip(seconds: float, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A test clip: tones and noise with a silent stretch (exact zeros) and a near-silent one (1e-6), `(samples,)`
    or `(samples, channels)`."""
    rng = np.random.default_rng(seed)
    n = max(1, int(round(seconds * SR)))
    t = np.arange(n) / SR
    y = 0.3 * np.sin(2 * np.pi * (300 + 400 * t / max(seconds, 1e-3)) * t) + 0.05 * rng.standard_normal(n)
    a, b = int(0.3 * n), int(0.5 * n)
    y[a:b] = 0.0
    y[b:int(0.6 * n)] *= 1e-5
    y = y.astype(np.float32)
    return y if channels == 1 else np.stack([y, 0.5 * y[::-1].copy()], 1)


def lengths_for(window: float) -> list[float]:
    "Clip seconds: shorter than a window, one, two, three and 10+ windows (windows overlap by half)."
    return [0.6 * window, window, 1.5 * window, 2.0 * window, 5.7 * window]


def exported_forms(learn, folder, formats=('safetensors', 'torchscript', 'onnx', 'pt2'), net_like=None):
    "{format: callable(waveform numpy) -> probabilities numpy} for `learn` exported to `folder`."
    from fastai_audio import export_waveform_model, load_waveform_model
    path = export_waveform_model(learn, folder, formats=formats)
    out = {}
    if 'safetensors' in formats:
        cfg = json.loads((path / 'config.json').read_text())
        net = None if cfg.get('network') else copy.deepcopy(net_like if net_like is not None else learn.model)
        m = load_waveform_model(path, net=net)
        out['safetensors'] = lambda y: m(torch.from_numpy(y)).detach().numpy()
    if 'torchscript' in formats:
        ts = torch.jit.load(str(path / 'model.ts'))
        out['torchscript'] = lambda y: ts(torch.from_numpy(y)).detach().numpy()
    if 'onnx' in formats:
        import onnxruntime as ort
        sess = ort.InferenceSession(str(path / 'model.onnx'))
        out['onnx'] = lambda y: sess.run(None, {'waveform': y})[0]
    if 'pt2' in formats:
        ep = torch.export.load(str(path / 'model.pt2')).module()
        out['pt2'] = lambda y: ep(torch.from_numpy(y)).detach().numpy()
    return out


def worst_errors(learn, forms: dict, seconds: list[float], channels: int = 1) -> dict:
    "{format: max |exported - learn.predict| over the clips}, clips `(samples,)` or `(channels, samples)`."
    worst = {k: 0.0 for k in forms}
    for i, s in enumerate(seconds):
        y = clip(s, channels, seed=i)
        want = learn.predict(y.T if channels > 1 else y, sr=SR)[2].numpy()
        wave = np.ascontiguousarray(y.T) if channels > 1 else y
        with torch.no_grad():
            for k, f in forms.items(): worst[k] = max(worst[k], float(np.abs(f(wave) - want).max()))
    return worst
