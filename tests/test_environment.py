"""The environment block of run.json: package versions read from `.dist-info` folder names
agree with importlib.metadata, and egg-style installs still get theirs."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

from gitexp.record import environment


def _fresh(monkeypatch, path: list[str]) -> None:
    monkeypatch.setattr(sys, "path", path)
    environment._dist_info.cache_clear()


def test_every_installed_distribution_has_the_version_importlib_metadata_gives():
    environment._dist_info.cache_clear()
    names = {dist.metadata["Name"] for dist in metadata.distributions()}
    assert len(names) > 10
    wrong = {name: (environment._version(name), metadata.version(name)) for name in names
             if environment._version(name) != metadata.version(name)}
    assert wrong == {}


def test_names_are_matched_as_pep_503_normalises_them(tmp_path, monkeypatch):
    (tmp_path / "Scikit_Learn-1.5.2.dist-info").mkdir()
    (tmp_path / "pytorch_lightning-2.4.0.dist-info").mkdir()
    (tmp_path / "older-0.1.dist-info").mkdir()
    later = tmp_path / "later"
    later.mkdir()
    (later / "older-9.9.dist-info").mkdir()  # shadowed: the first on sys.path wins
    _fresh(monkeypatch, [str(tmp_path), str(later)])
    try:
        assert environment._version("scikit-learn") == "1.5.2"
        assert environment._version("pytorch-lightning") == "2.4.0"
        assert environment._version("older") == "0.1"
        assert environment._version("torch") is None
    finally:
        environment._dist_info.cache_clear()


def test_an_egg_info_install_is_read_by_importlib_metadata(tmp_path, monkeypatch):
    egg = tmp_path / "legacy.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: legacy\nVersion: 3.1.4\n")
    _fresh(monkeypatch, [str(tmp_path)])
    try:
        assert environment._version("legacy") == "3.1.4"
        assert environment._version("nothing-here") is None
    finally:
        environment._dist_info.cache_clear()


def test_capturing_the_environment_does_not_load_importlib_metadata(tmp_path):
    """(Unless an egg-style install is on the path: then it must be asked.)"""
    code = ("import sys; from gitexp.record import environment; env = environment.capture(); "
            "print('gitexp' in env['packages'], environment._dist_info()[1], 'importlib.metadata' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    found, eggs, loaded = out.stdout.split()
    assert found == "True" and loaded == eggs
