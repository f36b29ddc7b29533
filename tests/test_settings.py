"""One settings object: defaults, TOML file, environment, explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from axis.errors import AxisError
from axis.settings import load_settings


def test_defaults_are_the_embedded_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AXIS_CONFIG", raising=False)
    s = load_settings()
    assert s.host == "127.0.0.1"
    assert s.data_dir == Path("var")
    assert s.trust.allow_sha1 is False
    assert "pdf" in s.edxml.allowed_types and "exe" not in s.edxml.allowed_types


def test_environment_beats_file_and_flags_beat_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "axis.toml"
    cfg.write_text('port = 9001\ndata_dir = "/srv/axis"\n[edxml]\nmax_depth = 20\n')
    monkeypatch.setenv("AXIS_PORT", "9002")
    monkeypatch.setenv("AXIS_TRUST__ALLOW_SHA1", "true")
    s = load_settings(cfg)
    assert s.port == 9002
    assert s.data_dir == Path("/srv/axis")
    assert s.edxml.max_depth == 20
    assert s.trust.allow_sha1 is True
    assert load_settings(cfg, port=9003).port == 9003


def test_settings_are_frozen() -> None:
    s = load_settings()
    with pytest.raises(Exception, match="frozen"):
        s.port = 1


@pytest.mark.parametrize("content", ["port = 'x'", "nonsense = 1", "[edxml\n"])
def test_bad_file_is_a_coded_config_error(tmp_path: Path, content: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    with pytest.raises(AxisError) as info:
        load_settings(cfg)
    assert info.value.code.id == "node.config_invalid"
