"""PANNs `Cnn6`, `Cnn10` and `Cnn14` (Kong et al. 2020, "PANNs: Large-Scale Pretrained Audio Neural Networks
for Audio Pattern Recognition"), laid out module for module as the official `audioset_tagging_cnn` code, so the
official checkpoints (`Cnn14_mAP=0.431.pth`...: a dict whose 'model' entry is the state dict) load with
`strict=True`; and `PannsClassifier`, a backbone fine-tuned end to end on new classes.

The front end is part of the checkpoint: the STFT is two convolutions whose weights are the windowed DFT
(`spectrogram_extractor.stft.conv_real/conv_imag`) and the mel filters a matrix (`logmel_extractor.melW`);
`Cnn14.from_checkpoint` reads the FFT size, mel bands, channel widths and classes from the tensors' shapes.
Waveforms in: `(batch, samples)` at `sample_rate` (32 kHz for the AudioSet checkpoints, 16 kHz for `Cnn14_16k`).
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..runtime.frontend import FrontEnd
from ..runtime.functional import amplitude_to_db, dft_basis, mel_filterbank, pad_signal, power_spectrum, window_function

__all__ = ['Cnn6', 'Cnn10', 'Cnn14', 'PannsClassifier', 'PANNS_CNN14_URL', 'PANNS_CHECKPOINTS', 'PANNS_RATES',
           'PANNS_FRONT_ENDS', 'panns_front_end', 'download_panns']

#: The official checkpoints (Zenodo record 3987831): AudioSet at 32 kHz and the 16 kHz variant.
PANNS_CHECKPOINTS = {name: f'https://zenodo.org/record/3987831/files/{name.replace("=", "%3D")}?download=1'
                     for name in ('Cnn14_mAP=0.431.pth', 'Cnn14_16k_mAP=0.438.pth', 'Cnn10_mAP=0.380.pth',
                                  'Cnn6_mAP=0.343.pth')}
PANNS_CNN14_URL = PANNS_CHECKPOINTS['Cnn14_mAP=0.431.pth']
#: What the official checkpoints were trained on, the one description of the PANNs front end (the presets'
#: `PANNS` and the registry's entries are these objects): 32 kHz, 1024-sample Hann window, hop 320 (10 ms),
#: reflect padding, 64 Slaney mel bands from 50 to 14000 Hz, 10 log10(power) against a fixed reference of 1
#: with floor 1e-10 and no clipping, no normalisation (the network's `bn0` standardises each band); the 16 kHz
#: and 8 kHz checkpoints (`Cnn14_16k`, `Cnn14_8k`) scale the window, hop and top of the band with the rate.
PANNS_FRONT_ENDS = {1024: FrontEnd('panns', 32000, 1024, 320, 64, f_min=50.0, f_max=14000.0, pad_mode='reflect',
                                   ref=1.0, amin=1e-10, top_db=None, normalize=None)}
PANNS_FRONT_ENDS[512] = PANNS_FRONT_ENDS[1024].replace(name='panns_16k', sample_rate=16000, n_fft=512, hop_length=160,
                                                     f_max=8000.0)
PANNS_FRONT_ENDS[256] = PANNS_FRONT_ENDS[1024].replace(name='panns_8k', sample_rate=8000, n_fft=256, hop_length=80,
                                                     f_max=4000.0)
#: The official checkpoints' rate, hop and mel band (Hz) for each window size: read from `PANNS_FRONT_ENDS`.
PANNS_RATES = {n: (fe.sample_rate, fe.hop_length, fe.f_min, fe.f_max) for n, fe in PANNS_FRONT_ENDS.items()}
_OFFICIAL = PANNS_FRONT_ENDS[1024]


def panns_front_end(sample_rate: int = _OFFICIAL.sample_rate, window_size: int = _OFFICIAL.n_fft,
                    hop_size: int = _OFFICIAL.hop_length, mel_bins: int = _OFFICIAL.n_mels,
                    fmin: float = _OFFICIAL.f_min, fmax: float = _OFFICIAL.f_max) -> FrontEnd:
    """The `FrontEnd` of a PANNs network of these sizes.

    The official object of `PANNS_FRONT_ENDS` when they are an official checkpoint's, else its padding, dB and
    normalisation with these sizes (named 'panns').

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz (official: 32000).
    window_size : int
        FFT and window size in samples (official: 1024).
    hop_size : int
        Samples between frames (official: 320).
    mel_bins : int
        Mel bands (official: 64).
    fmin : float
        Lowest mel band edge in Hz (official: 50).
    fmax : float
        Highest mel band edge in Hz (official: 14000).

    Returns
    -------
    FrontEnd
        The description of what the network hears.
    """
    official = PANNS_FRONT_ENDS.get(window_size, _OFFICIAL)
    fe = official.replace(sample_rate=int(sample_rate), n_fft=int(window_size), hop_length=int(hop_size),
                          n_mels=int(mel_bins), f_min=float(fmin), f_max=float(fmax))
    return official if fe == official else fe.replace(name='panns')


def download_panns(name: str = 'Cnn14_mAP=0.431.pth', force: bool = False) -> Path:
    """An official checkpoint of `PANNS_CHECKPOINTS` (~330 MB), downloaded once.

    It goes into torch's checkpoint folder (`torch.hub.get_dir()/checkpoints`, where torchvision keeps its
    weights). A copy that an earlier release put in fastai's default model folder (`~/.fastai/models`) is used
    where it exists.

    Parameters
    ----------
    name : str
        A file name of `PANNS_CHECKPOINTS` (default 'Cnn14_mAP=0.431.pth').
    force : bool
        Download again even when a copy exists (default False).

    Returns
    -------
    Path
        The local checkpoint file.

    Raises
    ------
    ValueError
        For a name that is not in `PANNS_CHECKPOINTS`.
    """
    if name not in PANNS_CHECKPOINTS: raise ValueError(f'unknown checkpoint {name!r}; known: {", ".join(PANNS_CHECKPOINTS)}')
    earlier = Path.home() / '.fastai' / 'models' / name
    if earlier.exists() and not force: return earlier
    dest = Path(torch.hub.get_dir()) / 'checkpoints' / name
    if force or not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(PANNS_CHECKPOINTS[name], str(dest))
    return dest


class _STFT(nn.Module):
    "Windowed DFT (`frontend.dft_basis`) as two strided convolutions (keys `conv_real`, `conv_imag`), padded as `fe`."
    def __init__(self, fe: FrontEnd):
        super().__init__()
        n_fft, hop = fe.n_fft, fe.hop_length
        bins = n_fft // 2 + 1
        self.hop_length, self.n_fft, self.pad_mode = hop, n_fft, fe.pad_mode
        self.conv_real = nn.Conv1d(1, bins, n_fft, stride=hop, bias=False)
        self.conv_imag = nn.Conv1d(1, bins, n_fft, stride=hop, bias=False)
        basis = dft_basis(n_fft, window_function(fe.window_fn, fe.win_length))
        with torch.no_grad():
            self.conv_real.weight.copy_(basis[:bins])
            self.conv_imag.weight.copy_(basis[bins:])

    def forward(self, x):
        x = pad_signal(x[:, None], self.n_fft // 2, self.pad_mode)
        return self.conv_real(x), self.conv_imag(x)


class _Spectrogram(nn.Module):
    def __init__(self, fe: FrontEnd):
        super().__init__()
        self.stft = _STFT(fe)

    def forward(self, x):
        return power_spectrum(*self.stft(x)).transpose(1, 2)[:, None]          # (batch, 1, frames, bins)


class _LogMel(nn.Module):
    """Mel projection (`melW` `(bins, mels)`: `frontend.mel_filterbank` transposed, or the checkpoint's own) and dB
    as the front end `fe` says (official: against a fixed reference of 1 with floor 1e-10, no clipping)."""
    def __init__(self, fe: FrontEnd):
        super().__init__()
        self.ref, self.amin, self.top_db = fe.ref, fe.amin, fe.top_db
        self.melW = nn.Parameter(mel_filterbank(fe.sample_rate, fe.n_fft, n_mels=fe.n_mels, f_min=fe.f_min, f_max=fe.f_max, htk=fe.htk,
                                                norm=fe.mel_norm).T.contiguous(), requires_grad=False)

    def forward(self, x):
        return amplitude_to_db(torch.matmul(x, self.melW), 'power', ref=self.ref, amin=self.amin, top_db=self.top_db)


class _ConvBlock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn1, self.bn2 = nn.BatchNorm2d(c_out), nn.BatchNorm2d(c_out)

    def forward(self, x, pool: int = 2):
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.avg_pool2d(x, pool) if pool > 1 else x


class _ConvBlock5x5(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 5, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)

    def forward(self, x, pool: int = 2):
        x = F.relu(self.bn1(self.conv1(x)))
        return F.avg_pool2d(x, pool) if pool > 1 else x


class Cnn14(nn.Module):
    """PANNs Cnn14: six blocks of two 3x3 convolutions (official widths 64 ... 2048).

    `forward(wave (batch, samples))` -> clip-wise AudioSet probabilities `(batch, classes)`; `embed(wave)` -> the
    2048-d embedding (after fc1 and ReLU) `(batch, widths[-1])`. The front end's sizes are also described as
    `front_end` (a `FrontEnd`, `panns_front_end` of them: what the DataLoaders of a model built on it must give).

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz (official: 32000).
    window_size : int
        FFT and window size in samples (official: 1024).
    hop_size : int
        Samples between frames (official: 320).
    mel_bins : int
        Mel bands (official: 64).
    fmin : float
        Lowest mel band edge in Hz (official: 50).
    fmax : float
        Highest mel band edge in Hz (official: 14000).
    classes_num : int
        Output classes (default 527, AudioSet).
    widths : tuple of int
        Channels of the six conv blocks (official 64, 128, 256, 512, 1024, 2048).
    """
    _block, _last_pool = _ConvBlock, 1

    def __init__(self, sample_rate=_OFFICIAL.sample_rate, window_size=_OFFICIAL.n_fft, hop_size=_OFFICIAL.hop_length,
                 mel_bins=_OFFICIAL.n_mels, fmin=_OFFICIAL.f_min, fmax=_OFFICIAL.f_max,
                 classes_num=527, widths=(64, 128, 256, 512, 1024, 2048)):
        super().__init__()
        self.n_blocks, self.widths = len(widths), tuple(int(w) for w in widths)
        self.sample_rate, self.hop_size = sample_rate, hop_size
        self.front_end = panns_front_end(sample_rate, window_size, hop_size, mel_bins, fmin, fmax)
        self.spectrogram_extractor = _Spectrogram(self.front_end)
        self.logmel_extractor = _LogMel(self.front_end)
        self.bn0 = nn.BatchNorm2d(mel_bins)
        chans = (1, *widths)
        for i in range(len(widths)): setattr(self, f'conv_block{i + 1}', self._block(chans[i], chans[i + 1]))
        self.fc1 = nn.Linear(widths[-1], widths[-1])
        self.fc_audioset = nn.Linear(widths[-1], classes_num)

    def embed(self, wave: torch.Tensor) -> torch.Tensor:
        return self.embed_logmel(self.logmel_extractor(self.spectrogram_extractor(wave)))

    def embed_logmel(self, x: torch.Tensor) -> torch.Tensor:
        "The embedding `(batch, widths[-1])` of log-mel spectrograms `(batch, 1, frames, mels)` (PANNs' layout)."
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)
        for i in range(self.n_blocks):
            x = getattr(self, f'conv_block{i + 1}')(x, 2 if i < self.n_blocks - 1 else self._last_pool)
            x = F.dropout(x, 0.2, self.training)
        x = x.mean(dim=3)
        x = x.amax(dim=2) + x.mean(dim=2)
        x = F.dropout(x, 0.5, self.training)
        return F.relu(self.fc1(x))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc_audioset(self.embed(wave)))

    @classmethod
    def from_checkpoint(cls, path, sample_rate: int | None = None, hop_size: int | None = None) -> 'Cnn14':
        """Load an official checkpoint file (a dict with the state dict under 'model', or the state dict itself)
        with `strict=True`, as the network its keys describe (Cnn6: one 5x5 convolution a block; Cnn10: four
        blocks of two; Cnn14: six). Sizes come from the tensors; the rate and hop, which the file does not hold,
        from `PANNS_RATES` for its window size unless given. The mel filters are the file's own. Keys that do
        not match raise a ValueError naming the missing and the unexpected ones."""
        sd = torch.load(Path(path), map_location='cpu', weights_only=True)
        sd = sd.get('model', sd)
        try:
            n_fft = sd['spectrogram_extractor.stft.conv_real.weight'].shape[-1]
            bins, mels = sd['logmel_extractor.melW'].shape
            n_blocks = sum(f'conv_block{i}.conv1.weight' in sd for i in range(1, 7))
            widths = tuple(sd[f'conv_block{i}.conv1.weight'].shape[0] for i in range(1, n_blocks + 1))
            classes = sd['fc_audioset.weight'].shape[0]
        except KeyError as e:
            raise ValueError(f'{path} is not a PANNs checkpoint: it has no {e.args[0]!r}') from None
        if bins != n_fft // 2 + 1: raise ValueError(f'{path}: melW has {bins} rows for a {n_fft}-point FFT')
        sr0, hop0, fmin, fmax = PANNS_RATES.get(n_fft, (None, None, 0, None))
        sr, hop = sample_rate or sr0, hop_size or hop0
        if sr is None or hop is None:
            raise ValueError(f'{path}: window {n_fft} is not an official one; give sample_rate and hop_size')
        arch = Cnn14 if n_blocks == 6 else (Cnn10 if 'conv_block1.conv2.weight' in sd else Cnn6)
        model = arch(sr, n_fft, hop, mels, fmin, fmax or sr // 2, classes, widths)
        missing, unexpected = sorted(set(model.state_dict()) - set(sd)), sorted(set(sd) - set(model.state_dict()))
        if missing or unexpected:
            raise ValueError(f'{path} does not fit the official {arch.__name__} layout: missing keys {missing[:8]}, '
                             f'unexpected keys {unexpected[:8]}')
        model.load_state_dict(sd, strict=True)
        return model.eval()

class Cnn10(Cnn14):
    """PANNs Cnn10: four blocks of two 3x3 convolutions (64 ... 512), every block average-pooled 2x2; as `Cnn14`.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz (official: 32000).
    window_size : int
        FFT and window size in samples (official: 1024).
    hop_size : int
        Samples between frames (official: 320).
    mel_bins : int
        Mel bands (official: 64).
    fmin : float
        Lowest mel band edge in Hz (official: 50).
    fmax : float
        Highest mel band edge in Hz (official: 14000).
    classes_num : int
        Output classes (default 527, AudioSet).
    widths : tuple of int
        Channels of the four conv blocks (official 64, 128, 256, 512).
    """
    _block, _last_pool = _ConvBlock, 2

    def __init__(self, sample_rate=_OFFICIAL.sample_rate, window_size=_OFFICIAL.n_fft, hop_size=_OFFICIAL.hop_length,
                 mel_bins=_OFFICIAL.n_mels, fmin=_OFFICIAL.f_min, fmax=_OFFICIAL.f_max,
                 classes_num=527, widths=(64, 128, 256, 512)):
        super().__init__(sample_rate, window_size, hop_size, mel_bins, fmin, fmax, classes_num, widths)


class Cnn6(Cnn14):
    """PANNs Cnn6: four blocks of one 5x5 convolution (64 ... 512), every block average-pooled 2x2; as `Cnn14`.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz (official: 32000).
    window_size : int
        FFT and window size in samples (official: 1024).
    hop_size : int
        Samples between frames (official: 320).
    mel_bins : int
        Mel bands (official: 64).
    fmin : float
        Lowest mel band edge in Hz (official: 50).
    fmax : float
        Highest mel band edge in Hz (official: 14000).
    classes_num : int
        Output classes (default 527, AudioSet).
    widths : tuple of int
        Channels of the four conv blocks (official 64, 128, 256, 512).
    """
    _block, _last_pool = _ConvBlock5x5, 2

    def __init__(self, sample_rate=_OFFICIAL.sample_rate, window_size=_OFFICIAL.n_fft, hop_size=_OFFICIAL.hop_length,
                 mel_bins=_OFFICIAL.n_mels, fmin=_OFFICIAL.f_min, fmax=_OFFICIAL.f_max,
                 classes_num=527, widths=(64, 128, 256, 512)):
        super().__init__(sample_rate, window_size, hop_size, mel_bins, fmin, fmax, classes_num, widths)


class PannsClassifier(nn.Module):
    """A PANNs network fine-tuned on new classes, with a new head.

    Log-mel batches `(batch, 1, mels, frames)`, as the loaders' front end computes them with the network's own
    `front_end` (the checkpoint's STFT and mel weights are not needed), -> the network's embedding -> dropout ->
    a new `Linear(embedding, n_out)` head (logits). `splitter` gives fastai two parameter groups, body then
    head, for `freeze` / `fine_tune`.

    Parameters
    ----------
    body : Cnn14
        The PANNs network (`Cnn6`, `Cnn10` or `Cnn14`); its extractor modules and AudioSet head are kept,
        unused and frozen, so the official keys still load.
    n_out : int
        Classes of the new head.
    p : float
        Dropout before the head (default 0.5).
    """
    unused = ('spectrogram_extractor', 'logmel_extractor', 'fc_audioset')     # kept for the keys, never trained

    def __init__(self, body: Cnn14, n_out: int, p: float = 0.5):
        super().__init__()
        self.body, self.front_end = body, body.front_end
        self.head = nn.Sequential(nn.Dropout(p), nn.Linear(body.fc1.out_features, n_out))
        for name in self.unused:
            for q in getattr(body, name).parameters(): q.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body.embed_logmel(x.transpose(-1, -2)))

    @staticmethod
    def splitter(model: 'PannsClassifier'):
        "Two parameter groups: the body (without its unused modules), then the head."
        body = [q for n, q in model.body.named_parameters() if n.split('.')[0] not in model.unused]
        return [body, list(model.head.parameters())]
