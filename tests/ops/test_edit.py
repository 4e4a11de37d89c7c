from __future__ import annotations

from pathlib import Path

import pytest

from sopskit.errors import OutputError
from sopskit.ops import edit
from sopskit.ops.edit import SecureBuffer, buffer_location, filesystem_type, hardening_flags


def test_disk_backed_dirs_are_refused_unless_allowed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(edit, "is_ram_backed", lambda _path: False)
    with pytest.raises(OutputError) as err:
        buffer_location({"SOPSKIT_TMPDIR": str(tmp_path)})
    assert "--allow-disk-tempdir" in (err.value.hint or "")
    assert buffer_location({"SOPSKIT_TMPDIR": str(tmp_path)}, allow_disk=True).ram_backed is False


def test_filesystem_type_reads_mounts(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\ntmpfs {tmp_path} tmpfs rw 0 0\n")
    assert filesystem_type(tmp_path / "x", mounts_file=str(mounts)) == "tmpfs"
    assert filesystem_type(Path("/usr"), mounts_file=str(mounts)) == "ext4"
    assert filesystem_type(Path("/dev/shm")) in ("tmpfs", "ramfs")  # the real system


def test_secure_buffer_modes_and_removal() -> None:
    location = buffer_location({})
    with SecureBuffer(location, "../../etc/secret.yaml") as buffer:
        buffer.write(b"x")
        assert buffer.path.parent == buffer.directory and buffer.path.name == "secret.yaml"
        assert buffer.directory.stat().st_mode & 0o777 == 0o700
        assert buffer.path.stat().st_mode & 0o777 == 0o600
    assert not buffer.directory.exists()


def test_hardening_flags_by_editor() -> None:
    assert "-n" in hardening_flags("vim") and "noundofile" in " ".join(hardening_flags("/usr/bin/nvim"))
    assert "make-backup-files nil" in " ".join(hardening_flags("emacs"))
    assert hardening_flags("nano") == ["--ignorercfile"]
    assert hardening_flags("my-editor") == []
