"Archive extraction refuses entries that escape the target folder, and extracts good archives whole."
import io
import tarfile
import zipfile

import pytest

from fastai_audio import UnsafeArchiveError, download_data, extract_archive


def _zip(path, entries):
    with zipfile.ZipFile(path, 'w') as zf:
        for name, data in entries: zf.writestr(name, data)
    return path


def _tar(path, members):
    "members: (name, kind, payload) with kind 'file' (payload: bytes), 'sym' or 'hard' (payload: link target), 'fifo'."
    with tarfile.open(path, 'w:gz') as tf:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == 'file':
                info.size = len(payload)
                tf.addfile(info, io.BytesIO(payload))
                continue
            info.type = {'sym': tarfile.SYMTYPE, 'hard': tarfile.LNKTYPE, 'fifo': tarfile.FIFOTYPE}[kind]
            if kind in ('sym', 'hard'): info.linkname = payload
            tf.addfile(info)
    return path


def test_good_archives_extract_whole(tmp_path):
    z = _zip(tmp_path / 'ok.zip', [('data/a.txt', b'a'), ('data/sub/b.txt', b'b'), ('data/./c/../d.txt', b'd')])
    out = extract_archive(z, tmp_path / 'z')
    assert (out / 'data' / 'a.txt').read_bytes() == b'a' and (out / 'data' / 'sub' / 'b.txt').read_bytes() == b'b'
    t = _tar(tmp_path / 'ok.tgz', [('top/x.wav', 'file', b'RIFF'), ('top/link.wav', 'sym', 'x.wav'),
                                   ('top/sub/up.wav', 'sym', '../x.wav')])
    out = extract_archive(t, tmp_path / 't')
    assert (out / 'top' / 'link.wav').read_bytes() == b'RIFF' and (out / 'top' / 'sub' / 'up.wav').read_bytes() == b'RIFF'


@pytest.mark.parametrize('name,why', [('../evil.txt', 'climbs out'), ('data/../../evil.txt', 'climbs out'),
                                      ('/tmp/evil.txt', 'absolute path'), ('C:/evil.txt', 'absolute path'),
                                      ('..\\evil.txt', 'climbs out')],
                         ids=['parent', 'nested-parent', 'absolute', 'drive', 'backslash'])
def test_zip_entries_escaping_are_refused_before_anything_is_written(tmp_path, name, why):
    z = _zip(tmp_path / 'bad.zip', [('data/first.txt', b'1'), (name, b'x')])
    with pytest.raises(UnsafeArchiveError, match=why) as e:
        extract_archive(z, tmp_path / 'out' / 'inner')
    assert e.value.entry == name and str(e.value).startswith(f"Refusing to extract '{z}': entry {name!r}")
    assert not (tmp_path / 'out' / 'inner' / 'data' / 'first.txt').exists()      # checked before extracting
    assert not (tmp_path / 'out' / 'evil.txt').exists() and not (tmp_path / 'evil.txt').exists()


@pytest.mark.parametrize('members,entry,why', [
    ([('top/ok', 'file', b'1'), ('../evil', 'file', b'x')], '../evil', 'climbs out'),
    ([('/abs/evil', 'file', b'x')], '/abs/evil', 'absolute path'),
    ([('top/ln', 'sym', '/etc'), ('top/ln/passwd', 'file', b'x')], 'top/ln', "symbolic link to '/etc'"),
    ([('top/ln', 'sym', '../../outside')], 'top/ln', "symbolic link to '../../outside'"),
    ([('top/hard', 'hard', '../../etc/passwd')], 'top/hard', 'hard link'),
    ([('top/pipe', 'fifo', None)], 'top/pipe', 'device file or pipe'),
], ids=['parent', 'absolute', 'symlink-absolute', 'symlink-relative-out', 'hardlink-out', 'fifo'])
def test_tar_entries_escaping_are_refused(tmp_path, members, entry, why):
    t = _tar(tmp_path / 'bad.tar.gz', members)
    with pytest.raises(UnsafeArchiveError, match=why) as e:
        extract_archive(t, tmp_path / 'out')
    assert e.value.entry == entry and str(t) in str(e.value)
    assert list((tmp_path / 'out').iterdir()) == []


def test_download_data_refuses_an_escaping_archive(tmp_path, monkeypatch):
    monkeypatch.setenv('FASTAI_HOME', str(tmp_path / 'home'))
    z = _zip(tmp_path / 'evil.zip', [('ESC-50-master/meta/esc50.csv', b'filename\n'), ('../../../pwned.txt', b'x')])
    with pytest.raises(UnsafeArchiveError, match='pwned'):
        download_data(f'file://{z}', 'ESC-50', base=tmp_path / 'data')
    assert not (tmp_path / 'data' / 'ESC-50').exists()
    assert not list(tmp_path.rglob('pwned.txt'))


def test_not_an_archive(tmp_path):
    (tmp_path / 'x.zip').write_text('hello')
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        extract_archive(tmp_path / 'x.zip', tmp_path / 'out')
