"""Where a pretrained network's weights come from, whether they are already on this machine, and one clear
error when they can be had from neither.

torchvision architectures download one file (`weights.url`) into torch's hub cache
(`torch.hub.get_dir()/checkpoints/`); timm names download `model.safetensors` (or `pytorch_model.bin`) from a
Hugging Face repository (`pretrained_cfg.hf_hub_id`) into the Hugging Face cache. Offline, torchvision fails
with a bare `URLError` and the Hugging Face client retries for most of a minute before it gives up; here a
missing file and an unreachable host are found first (a cached file is handed to timm directly, so nothing
asks the network), and the error says what was asked for, from where, where to put the file by hand, and
that `pretrained=False` trains from scratch.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

__all__ = ['PretrainedWeightsError', 'WeightsSource', 'weights_source']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('check_and_locate', 'download_failed')

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
