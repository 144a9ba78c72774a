"""Hugging Face `transformers` audio encoders as architectures you fine-tune: wav2vec2, HuBERT and WavLM hear the
raw waveform batch (with an attention mask from the batch's `lengths`), AST-style models compute their own
filterbank with their feature extractor; a pooled head of new outputs sits on top. Needs the `hf` extra.

    dls = AudioDataLoaders.from_folder(path, front_end='hf:facebook/wav2vec2-base')   # 16 kHz samples, no spectrogram
    learn = audio_learner(dls, 'hf:facebook/wav2vec2-base')                       # or a folder from save_pretrained
    learn.fine_tune(3)

The `'hf:'` prefix marks a Hugging Face hub name or a local folder holding `config.json` and
`preprocessor_config.json`; everything else about the model is read from them.
"""
from __future__ import annotations

import torch
from torch import nn

from ..runtime.compat import feature_vector_mask
from ..runtime.frontend import FrontEnd
from ..runtime.functional import length_mask, masked_mean_std, mean_std, standardize

__all__ = ['HF_PREFIX', 'HFEncoder', 'HFAudioClassifier', 'hf_encoder', 'hf_front_end', 'create_hf_model']

HF_PREFIX = 'hf:'


def _transformers(what: str):
    try: import transformers
    except ImportError as e:
        raise ImportError(f'{what} needs transformers, which the hf extra installs: pip install "fastai_audio[hf]"') from e
    return transformers


def _source(name: str) -> str:
    return name[len(HF_PREFIX):] if name.startswith(HF_PREFIX) else name


def _is_raw(feature_extractor) -> bool:
    "Raw-waveform models (wav2vec2 family) take the samples themselves as `input_values`."
    return type(feature_extractor).__name__ == 'Wav2Vec2FeatureExtractor'


def hf_front_end(name: str) -> FrontEnd:
    """The front end the loaders give a Hugging Face model.

    Mono samples at its feature extractor's `sampling_rate`, with no spectrogram transform (a filterbank model
    computes its own).

    Parameters
    ----------
    name : str
        'hf:' + a hub name or a local folder (the prefix is optional here), e.g. 'hf:facebook/wav2vec2-base'.

    Returns
    -------
    FrontEnd
        Of kind 'waveform', not in dB, not normalised.

    Raises
    ------
    ImportError
        When transformers (the `hf` extra) is not installed.
    """
    fe = _transformers(f'{name!r}').AutoFeatureExtractor.from_pretrained(_source(name))
    return _waveform_front_end(name, fe)


def _waveform_front_end(name, fe) -> FrontEnd:
    return FrontEnd(f'hf:{_source(name)}', int(fe.sampling_rate), kind='waveform', to_db=False, normalize=None)


class HFEncoder(nn.Module):
    """A Hugging Face audio model as an encoder of waveforms into one vector per clip.

    `encoder(x, lengths=None)` takes waveforms `(batch, samples)` at the feature extractor's rate (and optionally
    their `lengths` in samples, for a padded batch) and returns the mean of the last hidden states over the real
    frames, `(batch, hidden_size)`.

    Raw-waveform models (wav2vec2, HuBERT, WavLM) get the samples in torch: normalised per clip over its real
    samples when the feature extractor's `do_normalize` says so, an attention mask of those samples, pooling
    over the frames they cover, so a clip's output does not depend on what it was batched with. Filterbank
    models (AST) get each clip, trimmed to its length, through their own feature extractor (numpy, on the host).

    Parameters
    ----------
    model : nn.Module
        A transformers `AutoModel` (its `config.hidden_size` is the output size).
    feature_extractor : transformers feature extractor
        The model's; its class says whether the model hears raw samples (`Wav2Vec2FeatureExtractor`) or a
        filterbank, and its `sampling_rate` gives the front end's rate.
    freeze_feature_encoder : bool
        The convolutional feature encoder of wav2vec2-style models keeps its weights for good (its parameter
        names are in `fixed`; default False).
    name : str
        The model's name, for the front end's description (default 'hf').
    """
    def __init__(self, model: nn.Module, feature_extractor, *, freeze_feature_encoder: bool = False, name: str = 'hf'):
        super().__init__()
        self.model = model
        self.raw = _is_raw(feature_extractor)
        self.normalize = self.raw and bool(getattr(feature_extractor, 'do_normalize', False))
        self.feature_extractor = None if self.raw else feature_extractor
        self.front_end = _waveform_front_end(name, feature_extractor)
        self.dim = model.config.hidden_size
        if freeze_feature_encoder and hasattr(model, 'freeze_feature_encoder'): model.freeze_feature_encoder()
        self.fixed = tuple(n for n, q in model.named_parameters() if not q.requires_grad)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if not self.raw: return self._filterbank(x, lengths)
        mask = None if lengths is None else length_mask(torch.as_tensor(lengths, device=x.device), x.shape[-1])
        if self.normalize: x = _normalize(x, mask)
        out = self.model(input_values=x, attention_mask=None if mask is None else mask.long()).last_hidden_state
        if mask is None: return out.mean(1)
        frames = feature_vector_mask(self.model, out.shape[1], mask.long()).to(out.dtype)
        return (out * frames[..., None]).sum(1) / frames.sum(1, keepdim=True).clamp_min(1)

    def _filterbank(self, x, lengths):
        clips = x.detach().float().cpu().numpy()
        if lengths is not None: clips = [c[:int(n)] for c, n in zip(clips, lengths)]
        fe = self.feature_extractor
        feats = fe(list(clips), sampling_rate=fe.sampling_rate, return_tensors='pt')
        feats = {k: v.to(x.device, x.dtype if v.is_floating_point() else v.dtype) for k, v in feats.items()}
        return self.model(**feats).last_hidden_state.mean(1)


def _normalize(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """wav2vec2's input rule, (x - mean) / sqrt(variance + 1e-7) per clip, the population variance over its real
    samples (all of them without `mask`); padded samples stay 0."""
    m, s = mean_std(x) if mask is None else masked_mean_std(x, mask)
    n = torch.full_like(m, x.shape[-1]) if mask is None else mask.sum(-1, keepdim=True).to(x.dtype)
    x = standardize(x, m, torch.sqrt(s.square() * (n - 1) / n + 1e-7), eps=0.0)
    return x if mask is None else x * mask


class HFAudioClassifier(nn.Module):
    """`HFEncoder` with a head for new classes: waveform batches in, logits `(batch, n_out)` out.

    Waveform batches `(batch, samples)` or `(batch, 1, samples)` at the feature extractor's rate -> pooled hidden
    states -> dropout `p` -> a new `Linear(hidden_size, n_out)`. A padded batch's `x.lengths` (from
    `pad_to_longest`) give the mask; more than one channel is a ValueError. `splitter`: encoder, then head; a
    frozen feature encoder is in neither group, so `unfreeze` leaves it as loaded (as the transformers
    fine-tuning examples keep it).

    Parameters
    ----------
    body : HFEncoder
        The encoder.
    n_out : int
        Number of outputs (classes).
    p : float
        Dropout probability before the linear layer (default 0.1).
    """
    def __init__(self, body: HFEncoder, n_out: int, p: float = 0.1):
        super().__init__()
        self.body, self.front_end = body, body.front_end
        self.head = nn.Sequential(nn.Dropout(p), nn.Linear(body.dim, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lengths = getattr(x, 'lengths', None)
        x = x.as_subclass(torch.Tensor)
        if x.ndim == 3:
            if x.shape[1] != 1: raise ValueError(f'{type(self).__name__} hears mono audio; got {x.shape[1]} channels '
                                                 '(load with AudioBlock(mono=True))')
            x = x[:, 0]
        return self.head(self.body(x, lengths))

    @staticmethod
    def splitter(model: 'HFAudioClassifier'):
        fixed = set(model.body.fixed)
        return [[q for n, q in model.body.model.named_parameters() if n not in fixed], list(model.head.parameters())]


def hf_encoder(name: str, pretrained: bool = True, *, freeze_feature_encoder: bool = False, what: str | None = None):
    """An `HFEncoder` on a Hugging Face model.

    Parameters
    ----------
    name : str
        'hf:' + a hub name or a `save_pretrained` folder.
    pretrained : bool
        Load its weights (downloaded once into the Hugging Face cache; default True); False: the architecture
        freshly initialised from its config.
    freeze_feature_encoder : bool
        Keep the convolutional feature encoder of wav2vec2-style models fixed (default False).
    what : str, optional
        What needs transformers, for the error when it is missing (default None: `name`).

    Returns
    -------
    HFEncoder
        The encoder; `create_hf_model` puts it in training mode.

    Raises
    ------
    ImportError
        When transformers (the `hf` extra) is not installed.
    """
    tr = _transformers(what or f'{name!r}')
    src = _source(name)
    fe = tr.AutoFeatureExtractor.from_pretrained(src)
    model = tr.AutoModel.from_pretrained(src) if pretrained else tr.AutoModel.from_config(tr.AutoConfig.from_pretrained(src))
    return HFEncoder(model, fe, freeze_feature_encoder=freeze_feature_encoder, name=name)


def create_hf_model(name: str, n_out: int, *, pretrained: bool = True, freeze_feature_encoder: bool = True,
                    p: float = 0.1) -> HFAudioClassifier:
    """An `HFAudioClassifier` on `hf_encoder(name, pretrained, freeze_feature_encoder)`, in training mode.

    `audio_learner(dls, 'hf:...')` calls it; the loaders need `front_end=name` (see `hf_front_end`).

    Parameters
    ----------
    name : str
        'hf:' + a hub name or a `save_pretrained` folder.
    n_out : int
        Number of new outputs (classes).
    pretrained : bool
        Load the model's weights (default True); False: freshly initialised from its config.
    freeze_feature_encoder : bool
        Keep the convolutional feature encoder of wav2vec2-style models fixed (default True).
    p : float
        Dropout probability of the head (default 0.1).

    Returns
    -------
    HFAudioClassifier
        Encoder plus a new head of `n_out` outputs.

    Examples
    --------
    >>> dls = AudioDataLoaders.from_folder(path, front_end='hf:facebook/wav2vec2-base')   # doctest: +SKIP
    >>> learn = audio_learner(dls, 'hf:facebook/wav2vec2-base')                            # doctest: +SKIP
    """
    body = hf_encoder(name, pretrained, freeze_feature_encoder=freeze_feature_encoder, what=f'audio_learner(dls, {name!r})')
    return HFAudioClassifier(body.train(), n_out, p=p)
