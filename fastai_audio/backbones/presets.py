"""Front-end presets: the spectrogram settings of well-known systems as named `FrontEnd` descriptions.

    fe = PANNS                                  # or FRONT_ENDS['panns']
    dls = AudioDataLoaders.from_folder(path, sr=fe.sample_rate, duration=10, batch_tfms=fe.batch_tfms())
    fe.replace(n_mels=128)                      # a variant; the preset itself cannot change

Every field has its real type: booleans are `bool` (a string such as "False" is refused, not read as true),
sizes are ints, and the values are checked when a preset is made.
"""
from __future__ import annotations

from ..runtime.frontend import FrontEnd
from .panns import PANNS_FRONT_ENDS

__all__ = ['CLASSIC_2018', 'LIBROSA_DEFAULT', 'FSDKAGGLE2019', 'PANNS', 'PANNS_16K', 'AST', 'MULTI_RESOLUTION',
           'MEL_DELTAS', 'MEL_PCEN', 'FRONT_ENDS']


#: The 2018 fastai audio setting: 16 kHz, 1024-point FFT, hop 256, 40 mel bands from 20 to 8000 Hz.
CLASSIC_2018 = FrontEnd('classic_2018', 16000, 1024, 256, 40, f_min=20.0, f_max=8000.0)
#: librosa's defaults (`librosa.load` at 22.05 kHz, `melspectrogram`: 2048, 512, 128 bands to Nyquist).
LIBROSA_DEFAULT = FrontEnd('librosa_default', 22050, 2048, 512, 128)
#: The FSDKaggle2019 spectrogram-image setting: 44.1 kHz, 2048, hop 512, 128 bands from 20 to 8300 Hz.
FSDKAGGLE2019 = FrontEnd('fsdkaggle2019', 44100, 2048, 512, 128, f_min=20.0, f_max=8300.0)
#: PANNs (Kong et al. 2020): 32 kHz, 1024-sample window, hop 320, 64 Slaney bands from 50 to 14000 Hz,
#: reflect padding, 10 log10(power) against a fixed reference of 1 with floor 1e-10, no clipping and no
#: normalisation: the very object the network and the registry's 'panns_cnn*' entries hold (what the official
#: checkpoints were trained on, defined once in `backbones.panns.PANNS_FRONT_ENDS`).
PANNS = PANNS_FRONT_ENDS[1024]
#: The 16 kHz PANNs checkpoint's (`Cnn14_16k`, registry entry 'panns_cnn14_16k'): window 512, hop 160, 50-8000 Hz.
PANNS_16K = PANNS_FRONT_ENDS[512]
#: AST (Gong et al. 2021) frame geometry: 16 kHz, 25 ms windows (400 samples, 512-point FFT) every 10 ms, 128
#: HTK-scale bands from 20 Hz, uncentred frames, fixed reference. Kaldi's fbank extras (pre-emphasis, DC
#: removal, natural log) are not reproduced, so AST's own normalisation constants do not apply here. As in
#: kaldi, a few of the lowest of 128 bands on a 512-point FFT hold no bin (librosa warns of empty filters).
AST = FrontEnd('ast', 16000, 512, 160, 128, f_min=20.0, win_length=400, center=False, htk=True, mel_norm=None,
               ref=1.0, top_db=None)


# three-channel front ends, for ImageNet networks (their RGB first convolution kept): 16 kHz, hop 256, 128 bands
_MEL128 = FrontEnd('mel128', 16000, 1024, 256, 128, f_min=20.0)
_RAW = dict(normalize=None)                                       # a view is normalised by the stack, per channel
#: Three windows as three channels (after Palanisamy et al. 2020): 32, 64 and 128 ms Hann windows (512 zero-padded
#: to 1024, 1024, 2048), one hop, so the frames line up; each channel standardised by its own statistics.
MULTI_RESOLUTION = _MEL128.replace(name='multi_resolution', views=(
    _MEL128.replace(win_length=512, **_RAW), _MEL128.replace(n_fft=2048, hop_length=256, **_RAW)))
#: Log-mel, its delta and its delta-delta (velocity and acceleration over 5 frames) as three channels.
MEL_DELTAS = _MEL128.replace(name='mel_deltas', deltas=2)
#: Log-mel, its delta, and PCEN of the magnitude mels (gain- and channel-robust) as three channels.
MEL_PCEN = _MEL128.replace(name='mel_pcen', deltas=1, views=(_MEL128.replace(to_db=False, pcen=True, power=1.0, **_RAW),))

FRONT_ENDS = {fe.name: fe for fe in (CLASSIC_2018, LIBROSA_DEFAULT, FSDKAGGLE2019, PANNS, PANNS_16K, AST,
                                     MULTI_RESOLUTION, MEL_DELTAS, MEL_PCEN)}
