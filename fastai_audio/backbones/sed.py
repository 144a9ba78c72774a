"""Frame-level models for sound event detection: any CNN body on spectrograms, a head that pools over frequency,
keeps time and comes back to the front end's frame rate, and clip scores pooled from the frames (for weak
labels), with a loss on frames, on clips, or both.

    model = FrameClassifier(create_body(resnet18(), n_in=1, pretrained=False), n_classes=10)
    frame_logits, clip_logits = model(spectrograms)            # (batch, frames, classes), (batch, classes)
    loss = SEDLoss()(model(x), frame_targets)                   # frame BCE + clip BCE

A trained one serves as a `serving.detector.FrameDetector` (waveform in, frame probabilities out, events by
`decode_events`), loaded with torch alone by `load_exported(folder)`.
"""
from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from ..runtime.networks import first_conv


__all__ = ['CLIP_POOLS', 'TEMPORAL', 'BiGRU', 'pool_frames', 'limit_time_stride', 'FrameClassifier', 'SEDLoss', 'describe_frame_classifier', 'build_frame_classifier']

CLIP_POOLS = ('max', 'mean', 'linear_softmax', 'attention')
#: the temporal layers of `FrameClassifier`'s head: a 3-tap convolution, or a bidirectional GRU (a CRNN)
TEMPORAL = ('conv', 'gru')


def pool_frames(frame_probs: torch.Tensor, how: str = 'linear_softmax', weights: torch.Tensor | None = None) -> torch.Tensor:
    """Clip probabilities from frame probabilities.

    Parameters
    ----------
    frame_probs : torch.Tensor
        Frame probabilities `(batch, frames, classes)`.
    how : {'linear_softmax', 'max', 'mean', 'attention'}
        'max', 'mean', 'linear_softmax' (the default: sum p^2 / sum p over the frames: loud frames count more, a
        constant p gives p) or 'attention' (sum w p with `weights`).
    weights : torch.Tensor or None
        Attention weights `(batch, frames, classes)` summing to 1 over the frames; needed by 'attention' only
        (default None).

    Returns
    -------
    torch.Tensor
        Clip probabilities `(batch, classes)`.

    Raises
    ------
    ValueError
        For an unknown `how` (the known ones are `CLIP_POOLS`), or 'attention' without `weights`.
    """
    if how == 'max': return frame_probs.max(1).values
    if how == 'mean': return frame_probs.mean(1)
    if how == 'linear_softmax': return frame_probs.square().sum(1) / frame_probs.sum(1).clamp_min(1e-7)
    if how == 'attention':
        if weights is None: raise ValueError("pool_frames(how='attention') needs weights")
        return (frame_probs * weights).sum(1)
    raise ValueError(f'unknown clip pooling {how!r}; known: {", ".join(CLIP_POOLS)}')


def limit_time_stride(body: nn.Module, max_stride: int, *, n_in: int | None = None, n_freq: int = 64,
                      n_frames: int = 256) -> nn.Module:
    """Make `body` shrink time by at most `max_stride`, in place.

    Each strided convolution or pooling whose time stride would take the input past `max_stride` times shorter
    than the network's keeps its stride over frequency and gets stride 1 over time. Image networks shrink both
    axes 32 times (0.5 s at a 16 ms hop), too coarse for onsets. The two branches of a residual block see the
    same input, so they stay aligned. With an odd kernel padded by half its size (resnets, VGG, PANNs' CNNs) the
    length is kept; an even kernel without padding (ConvNeXt's downsampling) still takes a frame or so off at
    each such layer. The strides are found by one dry run on zeros, in eval mode (the training mode is restored).

    Parameters
    ----------
    body : nn.Module
        Any CNN on `(batch, n_in, freq, frames)`.
    max_stride : int
        The most times the network may shorten time.
    n_in : int or None
        Input channels (default None: read from its first convolution).
    n_freq : int
        Frequency rows of the dry run's input (default 64).
    n_frames : int
        Frames of the dry run's input (default 256).

    Returns
    -------
    nn.Module
        `body` itself, changed.
    """
    if n_in is None: n_in = first_conv(body)[2].in_channels
    seen = {}
    def hook(m, inp, out): seen[m] = inp[0].shape[-1]
    layers = [m for m in body.modules() if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))]
    handles = [m.register_forward_hook(hook) for m in layers]
    was = body.training
    body.eval()
    with torch.no_grad(): body(torch.zeros(1, n_in, n_freq, n_frames))
    body.train(was)
    for h in handles: h.remove()
    for m in layers:
        stride = m.stride if isinstance(m.stride, tuple) else (m.stride, m.stride)
        if m in seen and stride[1] > 1 and n_frames / seen[m] * stride[1] > max_stride:
            m.stride = (stride[0], 1)
            if not isinstance(m, nn.Conv2d):             # pooling: a kernel over time without stride would shorten it
                k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size, m.kernel_size)
                pad = m.padding if isinstance(m.padding, tuple) else (m.padding, m.padding)
                m.kernel_size, m.padding = (k[0], 1 + 2 * pad[1]), pad
    return body


class BiGRU(nn.Module):
    """A bidirectional GRU over the frames of a feature sequence `(batch, channels, frames)`.

    Gives `(batch, hidden, frames)`: `hidden // 2` units each way, concatenated, `layers` deep (DCASE's CRNN
    baseline uses two layers of 128 each way). Each direction is a one-way `nn.GRU` (the backward one reads the
    frames reversed): torch 2.14's ONNX export fixes the number of frames of a bidirectional `nn.GRU`, not of a
    one-way one, and the exported detector must take any length.

    Parameters
    ----------
    channels : int
        Input features a frame.
    hidden : int
        Output features a frame, even.
    layers : int
        Stacked bidirectional layers (default 2).

    Raises
    ------
    ValueError
        For an odd `hidden`.
    """
    def __init__(self, channels: int, hidden: int, layers: int = 2):
        super().__init__()
        if hidden % 2: raise ValueError(f'a bidirectional GRU needs an even hidden size, got {hidden}')
        sizes = [channels] + [hidden] * (layers - 1)
        self.forward_layers = nn.ModuleList(nn.GRU(n, hidden // 2, batch_first=True) for n in sizes)
        self.backward_layers = nn.ModuleList(nn.GRU(n, hidden // 2, batch_first=True) for n in sizes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(1, 2)                                                   # (batch, frames, features)
        for fwd, bwd in zip(self.forward_layers, self.backward_layers):
            h = torch.cat([fwd(h)[0], bwd(h.flip(1))[0].flip(1)], -1)
        return h.transpose(1, 2)


class FrameClassifier(nn.Module):
    """Frame-level classifier for sound event detection: a CNN body and a temporal head.

    Spectrograms `(batch, channels, freq, frames)` -> `body` -> mean over frequency -> a temporal layer (a 3-tap
    convolution, or with `temporal='gru'` a bidirectional GRU: a CRNN) and a 1x1 convolution to `n_classes` ->
    back to `frames` by linear interpolation. `forward` returns
    `(frame_logits (batch, frames, classes), clip_logits (batch, classes))`, the clip scores pooled from the frame
    probabilities with `pool` and given back as logits. `splitter`: body, then head.

    Parameters
    ----------
    body : nn.Module
        Any CNN giving a map `(batch, C, freq', frames')`.
    n_classes : int
        Classes scored on each frame.
    pool : {'linear_softmax', 'max', 'mean', 'attention'}
        How the clip scores are pooled from the frame probabilities (see `pool_frames`; 'attention' learns its
        weights; default 'linear_softmax').
    body_channels : int or None
        C, the body's output channels (default None: found by a dry run on a 64 x 64 input).
    hidden : int
        Features a frame out of the temporal layer (default 256).
    p : float
        Dropout before the temporal layer and before the 1x1 convolution (default 0.2).
    temporal : {'conv', 'gru'}
        The temporal layer: 'conv' (default, a 3-tap convolution) or 'gru' (`BiGRU`, two layers, `hidden // 2`
        units each way), which sees the whole clip in both directions.

    Raises
    ------
    ValueError
        For an unknown `pool` (the known ones are `CLIP_POOLS`) or `temporal` (`TEMPORAL`).
    """
    def __init__(self, body: nn.Module, n_classes: int, *, pool: str = 'linear_softmax', body_channels: int | None = None,
                 hidden: int = 256, p: float = 0.2, temporal: str = 'conv'):
        super().__init__()
        if pool not in CLIP_POOLS: raise ValueError(f'unknown clip pooling {pool!r}; known: {", ".join(CLIP_POOLS)}')
        if temporal not in TEMPORAL: raise ValueError(f'unknown temporal layer {temporal!r}; known: {", ".join(TEMPORAL)}')
        self.body, self.pool, self.hidden, self.n_classes, self.temporal = body, pool, hidden, n_classes, temporal
        if body_channels is None:
            first = first_conv(body)[2]
            with torch.no_grad():
                was = body.training
                body.eval()
                body_channels = body(torch.zeros(1, first.in_channels, 64, 64)).shape[1]
                body.train(was)
        self.body_channels = int(body_channels)
        layer = nn.Conv1d(body_channels, hidden, 3, padding=1) if temporal == 'conv' else BiGRU(body_channels, hidden)
        self.head = nn.Sequential(nn.Dropout(p), layer, nn.ReLU() if temporal == 'conv' else nn.Identity(),
                                  nn.Dropout(p), nn.Conv1d(hidden, n_classes, 1))
        self.attention = nn.Conv1d(hidden, n_classes, 1) if pool == 'attention' else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n_frames = x.shape[-1]
        if type(x) is not torch.Tensor and not torch.compiler.is_compiling():   # fastai's subclass, not export's
            x = x.as_subclass(torch.Tensor)
        h = self.body(x).mean(2)                                               # (batch, C, frames')
        hidden = self.head[:4](h)
        logits = self.head[4:](hidden)                                         # (batch, classes, frames')
        logits = F.interpolate(logits, size=n_frames, mode='linear', align_corners=False).transpose(1, 2)
        probs = torch.sigmoid(logits)
        weights = None
        if self.attention is not None:
            a = F.interpolate(self.attention(hidden), size=n_frames, mode='linear', align_corners=False)
            weights = torch.softmax(a.transpose(1, 2), dim=1)
        clip = pool_frames(probs, self.pool, weights).clamp(1e-6, 1 - 1e-6)
        return logits, torch.logit(clip)

    @staticmethod
    def splitter(model: 'FrameClassifier'):
        head = list(model.head.parameters()) + (list(model.attention.parameters()) if model.attention is not None else [])
        return [list(model.body.parameters()), head]


class SEDLoss(nn.Module):
    """Binary cross-entropy on frames and on clips, for `FrameClassifier`.

    `loss(preds, target)`: `preds` = `(frame_logits, clip_logits)` of `FrameClassifier`, `target` frame targets
    `(batch, frames, classes)` or clip targets `(batch, classes)` (the clip term alone). Frame targets are 1 (the
    class sounds in that frame), 0 (it does not) or -1 (weak label: it sounds somewhere in the clip, the frames
    are not known; see `sed_data.FrameTargets`). The frame term leaves the -1 entries out; the clip target is a
    class's largest frame target (1 for a weak label's -1). Frame targets with another number of frames than
    the model's raise a ValueError.

    Parameters
    ----------
    frame_weight : float
        Weight of the frame term (default 1.0; 0 leaves it out).
    clip_weight : float
        Weight of the clip term (default 1.0; 0 leaves it out).
    """
    def __init__(self, frame_weight: float = 1.0, clip_weight: float = 1.0):
        super().__init__()
        self.frame_weight, self.clip_weight = frame_weight, clip_weight

    def forward(self, preds, target: torch.Tensor) -> torch.Tensor:
        frame_logits, clip_logits = preds
        target = target.as_subclass(torch.Tensor).float()
        if target.ndim == 2: return F.binary_cross_entropy_with_logits(clip_logits, target)
        if target.shape[1] != frame_logits.shape[1]:
            raise ValueError(f'frame targets have {target.shape[1]} frames, the model {frame_logits.shape[1]}: make '
                             'the targets at the front end\'s frame rate (events.event_targets)')
        loss = frame_logits.new_zeros(())
        if self.frame_weight:
            known = (target >= 0).float()
            each = F.binary_cross_entropy_with_logits(frame_logits, target.clamp_min(0), reduction='none')
            loss = loss + self.frame_weight * (each * known).sum() / known.sum().clamp_min(1.0)
        if self.clip_weight:
            clip_target = target.abs().amax(1)                      # a weak -1 counts as present; soft targets stay soft
            loss = loss + self.clip_weight * F.binary_cross_entropy_with_logits(clip_logits, clip_target)
        return loss


def describe_frame_classifier(model: FrameClassifier, arch_name: str | None) -> dict | None:
    """How `build_frame_classifier` rebuilds `model`: its torchvision body and its head.

    Parameters
    ----------
    model : FrameClassifier
        The model to describe.
    arch_name : str or None
        The torchvision architecture its body was cut from (None: not one).

    Returns
    -------
    dict or None
        The body (`arch_name`, the body's input channels and how many of the network's children it keeps), its
        head and time stride; None for a body of your own (pass `net=` to `load_sed_model`).
    """
    body = getattr(model, 'body', None)
    if arch_name is None or not isinstance(body, nn.Sequential) or not hasattr(model, 'body_channels'): return None
    first = first_conv(body)[2]
    if first is None: return None
    return dict(source='torchvision', name=arch_name, n_in=first.in_channels, body_children=len(model.body),
                body_channels=model.body_channels, hidden=model.hidden, n_classes=model.n_classes, pool=model.pool,
                time_stride=getattr(model, 'time_stride', None), temporal=getattr(model, 'temporal', 'conv'))


def build_frame_classifier(d: dict) -> FrameClassifier:
    """An untrained `FrameClassifier` with the layout `describe_frame_classifier` wrote (needs torchvision).

    Parameters
    ----------
    d : dict
        What `describe_frame_classifier` returned.

    Returns
    -------
    FrameClassifier
        The network, its time stride limited as described.

    Raises
    ------
    ValueError
        When `d` does not describe a torchvision body.
    """
    if d.get('source') != 'torchvision': raise ValueError(f"cannot rebuild a frame classifier from {d!r}")
    from ..runtime.networks import torchvision_body
    body = torchvision_body(d['name'], d['n_in'], d['body_children'])
    if d.get('time_stride'): limit_time_stride(body, d['time_stride'], n_in=d['n_in'])
    model = FrameClassifier(body, d['n_classes'], pool=d['pool'], body_channels=d['body_channels'], hidden=d['hidden'],
                            temporal=d.get('temporal', 'conv'))
    model.time_stride = d.get('time_stride')
    return model
