"""Front-end presets: the spectrogram settings of well-known systems as typed, frozen dataclasses.

    fe = PANNS                                  # or FRONT_ENDS['panns']
    dls = AudioDataLoaders.from_folder(path, sr=fe.sample_rate, duration=10, batch_tfms=fe.batch_tfms())
    fe.replace(n_mels=128)                      # a variant; the preset itself cannot change

Every field has its real type: booleans are `bool` (a string such as "False" is refused, not read as true),
sizes are ints, and the values are checked when a preset is made.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .features import get_frequency_batch_transforms, stft_frames

__all__ = ['FrontEnd', 'CLASSIC_2018', 'LIBROSA_DEFAULT', 'FSDKAGGLE2019', 'PANNS', 'AST', 'FRONT_ENDS']


@dataclass(frozen=True)
class FrontEnd:
    """How waveforms become log-mel spectrograms.

    sample_rate : Hz the audio is loaded at. n_fft : FFT size (samples). hop_length : samples between frames.
    n_mels : mel bands. f_min, f_max : band edges in Hz (f_max None: sample_rate / 2).
    win_length : window size in samples, <= n_fft (None: n_fft). center : frames centred on their sample
    (padded with `pad_mode`, 'constant' zeros or 'reflect'). htk : HTK mel scale instead of Slaney's.
    mel_norm : 'slaney' (each filter of unit area) or None (unit peak). power : 2.0 power, 1.0 magnitude.
    ref : dB reference, 'max' (each clip's peak) or a fixed value such as 1.0. top_db : clip at this many dB
    below the peak (None: no clip). normalize : 'dataset', 'example' or None (see `SpecNormalize`).
    """
    name: str
    sample_rate: int
    n_fft: int
    hop_length: int
    n_mels: int
    f_min: float = 0.0
    f_max: float | None = None
    win_length: int | None = None
    center: bool = True
    pad_mode: str = 'constant'
    htk: bool = False
    mel_norm: str | None = 'slaney'
    power: float = 2.0
    ref: float | str = 'max'
    top_db: float | None = 80.0
    normalize: str | None = 'dataset'

    def __post_init__(self):
        for f in ('center', 'htk'):
            if not isinstance(getattr(self, f), bool):
                raise TypeError(f'FrontEnd.{f} must be a bool, got {getattr(self, f)!r}')
        for f in ('sample_rate', 'n_fft', 'hop_length', 'n_mels'):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise TypeError(f'FrontEnd.{f} must be a positive int, got {v!r}')
        if self.win_length is not None and not 0 < self.win_length <= self.n_fft:
            raise ValueError(f'FrontEnd.win_length must be in (0, n_fft={self.n_fft}], got {self.win_length}')
        top = self.sample_rate / 2 if self.f_max is None else self.f_max
        if not 0 <= self.f_min < top <= self.sample_rate / 2:
            raise ValueError(f'FrontEnd needs 0 <= f_min < f_max <= sample_rate / 2, got {self.f_min}, {self.f_max}')
        if self.pad_mode not in ('constant', 'reflect'):
            raise ValueError(f"FrontEnd.pad_mode must be 'constant' or 'reflect', got {self.pad_mode!r}")

    @property
    def frame_rate(self) -> float: return self.sample_rate / self.hop_length

    def n_frames(self, seconds: float) -> int:
        "Frames in a clip of `seconds` (`stft_frames` of its samples with this preset's settings)."
        return stft_frames(int(round(seconds * self.sample_rate)), self.n_fft, self.hop_length, self.center)

    def batch_tfms(self, **overrides) -> list:
        "The batch transforms (`MelSpectrogram`, `AmplitudeToDB`, `SpecNormalize`) for `batch_tfms=`."
        fe = self.replace(**overrides) if overrides else self
        return get_frequency_batch_transforms(
            n_fft=fe.n_fft, n_hop=fe.hop_length, n_mels=fe.n_mels, sample_rate=fe.sample_rate, f_min=fe.f_min,
            f_max=fe.f_max, top_db=fe.top_db, normalize=fe.normalize, ref=fe.ref, win_length=fe.win_length,
            center=fe.center, pad_mode=fe.pad_mode, htk=fe.htk, norm=fe.mel_norm, power=fe.power)

    def replace(self, **changes) -> 'FrontEnd':
        "A copy with `changes` (checked like a new preset)."
        return dataclasses.replace(self, **changes)

    def librosa_kwargs(self) -> dict:
        "The same settings as keyword arguments of `librosa.feature.melspectrogram`."
        return dict(sr=self.sample_rate, n_fft=self.n_fft, hop_length=self.hop_length, win_length=self.win_length,
                    n_mels=self.n_mels, fmin=self.f_min, fmax=self.f_max, center=self.center, pad_mode=self.pad_mode,
                    htk=self.htk, norm=self.mel_norm, power=self.power)


#: The 2018 fastai audio setting: 16 kHz, 1024-point FFT, hop 256, 40 mel bands from 20 to 8000 Hz.
CLASSIC_2018 = FrontEnd('classic_2018', 16000, 1024, 256, 40, f_min=20.0, f_max=8000.0)
#: librosa's defaults (`librosa.load` at 22.05 kHz, `melspectrogram`: 2048, 512, 128 bands to Nyquist).
LIBROSA_DEFAULT = FrontEnd('librosa_default', 22050, 2048, 512, 128)
#: The FSDKaggle2019 spectrogram-image setting: 44.1 kHz, 2048, hop 512, 128 bands from 20 to 8300 Hz.
FSDKAGGLE2019 = FrontEnd('fsdkaggle2019', 44100, 2048, 512, 128, f_min=20.0, f_max=8300.0)
#: PANNs (Kong et al. 2020): 32 kHz, 1024-sample window, hop 320, 64 Slaney bands from 50 to 14000 Hz,
#: reflect padding, 10 log10(power) against a fixed reference of 1 without clipping.
PANNS = FrontEnd('panns', 32000, 1024, 320, 64, f_min=50.0, f_max=14000.0, pad_mode='reflect', ref=1.0, top_db=None)
#: AST (Gong et al. 2021) frame geometry: 16 kHz, 25 ms windows (400 samples, 512-point FFT) every 10 ms, 128
#: HTK-scale bands from 20 Hz, uncentred frames, fixed reference. Kaldi's fbank extras (pre-emphasis, DC
#: removal, natural log) are not reproduced, so AST's own normalisation constants do not apply here. As in
#: kaldi, a few of the lowest of 128 bands on a 512-point FFT hold no bin (librosa warns of empty filters).
AST = FrontEnd('ast', 16000, 512, 160, 128, f_min=20.0, win_length=400, center=False, htk=True, mel_norm=None,
               ref=1.0, top_db=None)

FRONT_ENDS = {fe.name: fe for fe in (CLASSIC_2018, LIBROSA_DEFAULT, FSDKAGGLE2019, PANNS, AST)}
