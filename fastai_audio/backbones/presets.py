"""Front-end presets: the spectrogram settings of well-known systems as named `FrontEnd` descriptions.

    fe = PANNS                                  # or FRONT_ENDS['panns']
    dls = AudioDataLoaders.from_folder(path, sr=fe.sample_rate, duration=10, batch_tfms=fe.batch_tfms())
    fe.replace(n_mels=128)                      # a variant; the preset itself cannot change

Every field has its real type: booleans are `bool` (a string such as "False" is refused, not read as true),
sizes are ints, and the values are checked when a preset is made.
"""
from __future__ import annotations

from ..runtime.frontend import FrontEnd

__all__ = ['CLASSIC_2018', 'LIBROSA_DEFAULT', 'FSDKAGGLE2019', 'PANNS', 'AST', 'FRONT_ENDS']


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
