"""The Hugging Face Hub, offline: a repository laid out in a cache exactly as the Hub client leaves it after a
download (tests/test_share.py loads from it; tests/test_readme.py's stand-in Hub "uploads" into it)."""
import hashlib
from pathlib import Path


def cache_repo(cache: Path, repo_id: str, folder: Path, revision='main') -> str:
    """Lay `folder`'s files out in `cache` as the Hub client does: models--{owner}--{name}/blobs/<hash> (sha256
    for LFS files, git's blob sha1 for the others), snapshots/<commit>/<file> as relative links to the blobs,
    refs/<revision> holding the commit. Returns the commit."""
    root = cache / f"models--{repo_id.replace('/', '--')}"
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    for f in sorted(folder.iterdir()):
        data = f.read_bytes()
        lfs = f.suffix in ('.safetensors', '.onnx', '.ts', '.pt2')
        blob = hashlib.sha256(data).hexdigest() if lfs else hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest()
        (root / 'blobs').mkdir(parents=True, exist_ok=True)
        (root / 'blobs' / blob).write_bytes(data)
        link = root / 'snapshots' / commit / f.name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path('..') / '..' / 'blobs' / blob)
    (root / 'refs').mkdir(exist_ok=True)
    (root / 'refs' / revision).write_text(commit)
    return commit
