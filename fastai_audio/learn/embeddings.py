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
    export_embedding_model(emb, head, 'embed_tagger/')       # load_exported('embed_tagger/'), torch alone

The torch-only pieces live below this layer: the embedders in `backbones.embedders`, the served
`EmbeddingClassifier` and its config (`EmbeddingSpec`) in `serving.embedding`; the package exports them from there.
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

from .record import TrainingLog
from ..core import load_audio
from ..data.loading import AudioLoader
from ..data.blocks import check_loader_kwargs, is_multi_label
from ..backbones.embedders import AudioEmbedder, embedding_head
from ..runtime.arguments import check_keywords, keyword_names
from ..runtime.functional import aggregate_windows, frame_signal
from ..serving.embedding import EmbeddingClassifier, EmbeddingSpec
from .learner import LEARNER_PARAMETERS_DOC
from .windows import first_per_clip, metrics_on

__all__ = ['EmbeddingCache', 'embedding_dataloaders', 'embedding_learner', 'EmbeddingLearner', 'export_embedding_model']


class EmbeddingCache:
    """Embeddings on disk, one .npy per (file content, `embedder.description()`).

    A changed file, another embedder, other weights or any changed setting give another key, so nothing stale
    is read back. Written without pickle. `hits` and `misses` count the look-ups.

    Parameters
    ----------
    folder : str or Path
        Where the .npy files go (created if needed; `~` expanded).
    embedder : AudioEmbedder
        The embedder whose embeddings are kept.
    """
    def __init__(self, folder, embedder: AudioEmbedder):
        self.folder = Path(folder).expanduser()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.tag = hashlib.sha256(json.dumps(embedder.description(), sort_keys=True).encode()).hexdigest()[:16]
        self.embedder = embedder
        self.hits = self.misses = 0

    def key(self, content: bytes) -> Path:
        """The file of the embeddings of an audio file.

        Parameters
        ----------
        content : bytes
            The audio file's bytes.

        Returns
        -------
        Path
            The .npy file under the cache's folder (which may not exist yet).
        """
        return self.folder / f'{hashlib.sha256(content).hexdigest()[:24]}-{self.tag}.npy'

    def __call__(self, path, load) -> torch.Tensor:
        """Embeddings of an audio file, read from the cache or computed and written there.

        Parameters
        ----------
        path : str or Path
            The audio file.
        load : callable
            `load()` gives its waveform when they are not cached yet.

        Returns
        -------
        torch.Tensor
            The embedder's embeddings of the file, one row a frame.
        """
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


def embedding_dataloaders(embedder: AudioEmbedder, dls, *, cache=None, bs: int = 256, **kwargs):
    """Frame-level `DataLoaders` of embeddings for the clips of audio loaders.

    The clips are those of `dls`, with their items, labels and train/valid split. Each clip is decoded at the
    embedder's rate, framed and embedded (with a progress bar); every frame repeats its clip's label and split.

    Parameters
    ----------
    embedder : AudioEmbedder
        The frozen embedder.
    dls : DataLoaders
        The audio loaders.
    cache : str or Path, optional
        A folder of embeddings (`EmbeddingCache`) read and written when given (default None).
    bs : int
        Batch size, at most the number of training frames (default 256).
    **kwargs
        Other keywords go to fastai's loaders.

    Returns
    -------
    DataLoaders
        The frame-level loaders; they carry `clip_ids` (a tensor per split: the clip of each frame),
        `embedder` and `cache` (the `EmbeddingCache` or None).

    Raises
    ------
    TypeError
        For a keyword fastai's loaders do not take, naming the nearest known name, raised before any clip is
        embedded.
    """
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
    """A fastai `Learner` on frame embeddings whose clips score by the mean of their frames (`get_clip_preds`).

    Build it with `embedding_learner`; the constructor is fastai's `Learner`'s.

    Parameters
    ----------
    dls : DataLoaders
        Frame-level loaders from `embedding_dataloaders` (their `clip_ids` are read).
    model : nn.Module
        The head.
    """

    __doc__ = __doc__.rstrip() + '\n' + LEARNER_PARAMETERS_DOC      # fastai's Learner arguments, described once

    def get_clip_preds(self, ds_idx: int = 1):
        """Clip-level probabilities: the mean over each clip's frames, with the clips' targets.

        Parameters
        ----------
        ds_idx : int
            1 (default): the validation set; 0: training.

        Returns
        -------
        tuple of torch.Tensor
            `(probabilities (n_clips, n_classes), targets)`.
        """
        dl = self.dls[ds_idx].new(shuffle=False, drop_last=False)
        preds, targs = self.get_preds(dl=dl)
        ids = self.dls.clip_ids[ds_idx]
        n = int(ids.max()) + 1
        return aggregate_windows(preds, ids, n_clips=n, agg='mean'), first_per_clip(targs, ids, n)

    def clip_validate(self, ds_idx: int = 1) -> dict:
        """The learner's metrics on clip-level predictions (frames averaged; see `get_clip_preds`).

        Parameters
        ----------
        ds_idx : int
            1 (default): the validation set; 0: training.

        Returns
        -------
        dict
            {metric name: value}.
        """
        return metrics_on(self, *self.get_clip_preds(ds_idx))


def embedding_learner(edls, hidden: int = 512, *, p: float = 0.3, metrics=None, **kwargs) -> EmbeddingLearner:
    """A small head on frame embeddings, as an `EmbeddingLearner`.

    The head is Linear(dim, hidden) - ReLU - Dropout(p) - Linear(hidden, classes); the loss is chosen by fastai
    from the targets.

    Parameters
    ----------
    edls : DataLoaders
        Frame-level loaders from `embedding_dataloaders`.
    hidden : int
        Units of the hidden layer (default 512).
    p : float
        Dropout probability (default 0.3).
    metrics : list, optional
        Default None: `default_metrics(edls)`.
    **kwargs
        Other keywords go to `Learner`.

    Returns
    -------
    EmbeddingLearner
        The learner.

    Raises
    ------
    TypeError
        For a keyword `Learner` does not take, naming the nearest known one.
    """
    from .learner import LEARNER_ARGUMENTS, default_metrics
    check_keywords(kwargs, 'embedding_learner', keyword_names(embedding_learner) | set(LEARNER_ARGUMENTS) | {'loss_func'})
    dim = edls.one_batch()[0].shape[-1]
    head = embedding_head(dim, len(edls.vocab), hidden=hidden, p=p)
    learn = EmbeddingLearner(edls, head, metrics=default_metrics(edls) if metrics is None else metrics, **kwargs)
    learn.add_cb(TrainingLog())                    # what the model card says of training
    return learn


def export_embedding_model(embedder: AudioEmbedder, head_learn, path, formats=('safetensors', 'torchscript', 'onnx')) -> Path:
    """The embedder and the head of `head_learn` as one waveform-in model (`EmbeddingClassifier`), saved.

    Saved to folder `path` like `export_waveform_model`: config.json (an `EmbeddingSpec`: classes, framing, and
    how to rebuild the encoder and the head where they can be described), model.safetensors (`load_exported`
    loads the two together, torch alone), TorchScript, ONNX, a web page.

    Parameters
    ----------
    embedder : AudioEmbedder
        The embedder the head was trained on.
    head_learn : EmbeddingLearner
        The trained head's learner.
    path : str or Path
        The folder written.
    formats : sequence of str
        As `export_waveform_model` (default 'safetensors', 'torchscript', 'onnx'; 'web' adds index.html, the
        page that runs model.onnx in a browser).

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    ValueError
        For an unknown format.
    """
    from ..serving.export import learner_facts, save_waveform_model
    classes, multi = [str(v) for v in head_learn.dls.vocab], is_multi_label(head_learn.dls)
    model = EmbeddingClassifier(embedder, head_learn.model, multi_label=multi, classes=classes).eval()
    spec = EmbeddingSpec.from_embedder(embedder, head_learn.model, classes, multi)
    frames = frame_signal(torch.zeros(embedder.window_length * 3), embedder.window_length, embedder.hop_length)
    with torch.no_grad(): emb = embedder.encoder(frames)
    return save_waveform_model(model, path, spec.to_dict(), formats=formats, traced={'embedder.encoder': frames, 'head': emb},
                               training=learner_facts(head_learn))
