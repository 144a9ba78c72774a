"""Frame-level models for sound event detection: any CNN body on spectrograms, a head that pools over frequency,
keeps time and comes back to the front end's frame rate, and clip scores pooled from the frames (for weak
labels), with a loss on frames, on clips, or both.

    model = FrameClassifier(create_body(resnet18(), n_in=1, pretrained=False), n_classes=10)
    frame_logits, clip_logits = model(spectrograms)            # (batch, frames, classes), (batch, classes)
    loss = SEDLoss()(model(x), frame_targets)                   # frame BCE + clip BCE
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ['CLIP_POOLS', 'pool_frames', 'FrameClassifier', 'SEDLoss']

CLIP_POOLS = ('max', 'mean', 'linear_softmax', 'attention')


def pool_frames(frame_probs: torch.Tensor, how: str = 'linear_softmax', weights: torch.Tensor | None = None) -> torch.Tensor:
    """Clip probabilities `(batch, classes)` from frame probabilities `(batch, frames, classes)`: 'max', 'mean',
    'linear_softmax' (sum p^2 / sum p over the frames: loud frames count more, a constant p gives p) or
    'attention' (sum w p with `weights` `(batch, frames, classes)` summing to 1 over the frames)."""
    if how == 'max': return frame_probs.max(1).values
    if how == 'mean': return frame_probs.mean(1)
    if how == 'linear_softmax': return frame_probs.square().sum(1) / frame_probs.sum(1).clamp_min(1e-7)
    if how == 'attention':
        if weights is None: raise ValueError("pool_frames(how='attention') needs weights")
        return (frame_probs * weights).sum(1)
    raise ValueError(f'unknown clip pooling {how!r}; known: {", ".join(CLIP_POOLS)}')


class FrameClassifier(nn.Module):
    """Frame-level classifier: spectrograms `(batch, channels, freq, frames)` -> `body` (any CNN giving a map
    `(batch, C, freq', frames')`) -> mean over frequency -> a 3-tap temporal convolution and a 1x1 one to
    `n_classes` -> back to `frames` by linear interpolation. `forward` returns `(frame_logits (batch, frames,
    classes), clip_logits (batch, classes))`, the clip scores pooled from the frame probabilities with `pool`
    (see `pool_frames`; 'attention' learns its weights) and given back as logits.

    `body_channels`: C (found by a dry run when None). `splitter`: body, then head."""
    def __init__(self, body: nn.Module, n_classes: int, pool: str = 'linear_softmax', body_channels: int | None = None,
                 hidden: int = 256, p: float = 0.2):
        super().__init__()
        if pool not in CLIP_POOLS: raise ValueError(f'unknown clip pooling {pool!r}; known: {", ".join(CLIP_POOLS)}')
        self.body, self.pool = body, pool
        if body_channels is None:
            first = next(m for m in body.modules() if isinstance(m, nn.Conv2d))
            with torch.no_grad():
                was = body.training
                body.eval()
                body_channels = body(torch.zeros(1, first.in_channels, 64, 64)).shape[1]
                body.train(was)
        self.head = nn.Sequential(nn.Dropout(p), nn.Conv1d(body_channels, hidden, 3, padding=1), nn.ReLU(),
                                  nn.Dropout(p), nn.Conv1d(hidden, n_classes, 1))
        self.attention = nn.Conv1d(hidden, n_classes, 1) if pool == 'attention' else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n_frames = x.shape[-1]
        h = self.body(x.as_subclass(torch.Tensor)).mean(2)                     # (batch, C, frames')
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
    """Binary cross-entropy on frames and on clips: `preds` = `(frame_logits, clip_logits)` of `FrameClassifier`,
    `target` frame targets `(batch, frames, classes)` (strong labels; the clip target is their max over time) or
    clip targets `(batch, classes)` (weak labels: the clip term alone). `frame_weight` and `clip_weight` weigh
    the two terms (0 leaves one out)."""
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
        loss = 0.0
        if self.frame_weight: loss = loss + self.frame_weight * F.binary_cross_entropy_with_logits(frame_logits, target)
        if self.clip_weight:
            loss = loss + self.clip_weight * F.binary_cross_entropy_with_logits(clip_logits, target.max(1).values)
        return loss
