"""The Hugging Face Hub, both ways: `push_to_hub` uploads an exported folder (config.json, model.safetensors,
the model card README.md, and whatever else the export wrote), and `load_exported('hf://user/repo')` loads one
back through the Hub's own cache, torch alone.

    push_to_hub(learn, 'me/birds')                    # exports to a temporary folder, then uploads it
    model = load_exported('hf://me/birds')            # downloads once; offline afterwards

The cache answers first: a repository (at a revision) once downloaded loads from it at once, offline, without
asking the Hub (whose client, asked on a closed network, retries for half a minute); one not cached is
downloaded (`HF_HUB_OFFLINE=1` forbids that). For the newest files of a branch already cached, download them
with `huggingface_hub.snapshot_download(repo)` or name the commit ('hf://user/repo@<commit>'). The cache is the
client's, `HF_HUB_CACHE` (default ~/.cache/huggingface/hub). Nothing here pickles: the folder loads without
running its code.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

__all__ = ['push_to_hub', 'HubModelError']
#: public-internal: used by other modules of the package, not part of `from fastai_audio import *`
__internal__ = ('is_hub_url', 'hub_folder')

HUB_PREFIX = 'hf://'


class HubModelError(OSError):
    "A model on the Hub that can be neither read from the cache nor downloaded; the message says why and what to do."


def is_hub_url(path) -> bool:
    "Whether `path` is a str naming a Hub repository, 'hf://user/repo' (optionally '@revision')."
    return isinstance(path, str) and path.startswith(HUB_PREFIX)


def hub_folder(url: str) -> Path:
    """The local folder (a snapshot in the Hub cache) of 'hf://user/repo[@revision]', downloaded if not cached.

    Parameters
    ----------
    url : str
        'hf://' then the repository id, optionally '@' and a branch, tag or commit.

    Returns
    -------
    Path
        The snapshot folder, holding the repository's files.

    Raises
    ------
    ValueError
        For a url that does not name a repository ('hf://user/repo').
    HubModelError
        When the repository is neither cached nor downloadable, saying which and how to get it.
    """
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    repo, _, revision = url[len(HUB_PREFIX):].partition('@')
    if repo.count('/') != 1 or not all(repo.split('/')):
        raise ValueError(f"{url!r} does not name a Hub repository: expected 'hf://user/repo' (or 'hf://user/repo@revision')")
    try: return Path(snapshot_download(repo, revision=revision or None, local_files_only=True))
    except LocalEntryNotFoundError: pass          # not cached: ask the Hub
    try: return Path(snapshot_download(repo, revision=revision or None))
    except LocalEntryNotFoundError as e:
        why = ('HF_HUB_OFFLINE is set' if constants.HF_HUB_OFFLINE else
               f'the Hub could not be reached ({constants.ENDPOINT}: {_cause(e)})')
        raise HubModelError(f'{url}: not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and {why}; connect once '
                            'to download it, point HF_HUB_CACHE at a cache that holds it, or load a local copy of the '
                            'folder by its path') from None
    except HfHubHTTPError as e:
        raise HubModelError(f'{url}: the Hub answered {_cause(e)}; check the repository id and, for a private one, '
                            'your token (`hf auth login` or HF_TOKEN)') from None


def _cause(e: BaseException) -> str:
    "The first line of the innermost cause of `e`."
    while e.__cause__ is not None or e.__context__ is not None: e = e.__cause__ or e.__context__
    return f'{type(e).__name__}: {str(e).strip().splitlines()[0][:160] if str(e).strip() else ""}'.rstrip(': ')


def push_to_hub(folder_or_learner, repo_id: str, *, private: bool | None = None, token: str | None = None,
                commit_message: str = 'Upload model exported by fastai_audio', formats=('safetensors', 'onnx')) -> str:
    """Upload an exported folder (or export a learner and upload that) to the Hub repository `repo_id`.

    The repository is created if it does not exist; then the folder goes up in one commit
    (`huggingface_hub.HfApi.upload_folder`). Its README.md is the model card the export wrote.

    Parameters
    ----------
    folder_or_learner : str, Path or Learner
        An exported folder, or a learner of this package (it has `export_model`), exported to a temporary folder
        with `formats`.
    repo_id : str
        'user/repo' or 'organisation/repo'.
    private : bool or None
        Create the repository private (default None: the Hub's default, public).
    token : str or None
        A Hub token with write access (default None: the one `hf auth login` saved, or HF_TOKEN).
    commit_message : str
        The commit's message (default 'Upload model exported by fastai_audio').
    formats : sequence of str
        The formats a learner is exported in (default 'safetensors' and 'onnx'; ignored for a folder).

    Returns
    -------
    str
        The commit's URL on the Hub.

    Raises
    ------
    FileNotFoundError
        For a folder without config.json (not written by an exporter).
    TypeError
        For an object that is neither a folder nor a learner that can export.
    """
    from huggingface_hub import HfApi
    from .config import read_config
    api = HfApi(token=token)
    if isinstance(folder_or_learner, (str, Path)):
        folder = Path(folder_or_learner)
        read_config(folder)                       # a folder some exporter wrote, or a FileNotFoundError naming it
        api.create_repo(repo_id, private=private, exist_ok=True)
        return str(api.upload_folder(folder_path=str(folder), repo_id=repo_id, commit_message=commit_message))
    export = getattr(folder_or_learner, 'export_model', None)
    if export is None:
        raise TypeError(f'push_to_hub takes an exported folder or a fastai_audio learner, not a '
                        f'{type(folder_or_learner).__name__}')
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(export(Path(tmp) / repo_id.split('/')[-1], formats=formats))
        return push_to_hub(folder, repo_id, private=private, token=token, commit_message=commit_message)
