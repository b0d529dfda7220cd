"""Finding the configuration without parsing every pyproject.toml on the way up.

``_may_configure_sqlperf`` may say True of a file that turns out not to configure sqlperf (the
parser then decides), but it must never say False of one that does: that would silently
ignore the user's settings.
"""

from __future__ import annotations

import tomllib

import pytest

from sqlperf.config import _may_configure_sqlperf, load_settings

CONFIGURES = [
    '[tool.sqlperf]\nselect = ["ALL"]\n',
    "[tool.sqlperf.rules.SP101]\nx = 1\n",
    '[ tool . "sqlperf" ]\nselect = ["SP1"]\n',
    "[ 'tool' . 'sqlperf' ]  # ours\nselect = ['SP1']\n",
    '[tool]\nsqlperf.select = ["SP1"]\n',
    '[tool]\nsqlperf = { select = ["SP1"] }\n',
    'tool.sqlperf.select = ["A"]\n',
    'tool = { sqlperf = { select = ["A"] } }\n',
    '[tool]\nx = [\n  [1],\n  [2]\n]\nsqlperf.select = ["A"]\n',
    '[project]\ndependencies = [\n  "a[b",\n  "c]",\n]\n[tool.sqlperf]\nselect = ["A"]\n',
    '[project]\ndescription = """\n[x]\n"""\n[tool]\nsqlperf.select = ["A"]\n',
]

UNRELATED = [
    '[project]\nname = "sqlperf"\n[project.scripts]\nsqlperf = "sqlperf.cli:main"\n[tool.ruff]\nline-length = 100\n',
    '# [tool.sqlperf]\n[tool.black]\nline-length = 100\n',
    '[tool.sqlperfx]\na = 1\n',
    '[project]\ndependencies = [\n  "a[b]>=1",\n  "c",\n]\n[tool.ruff]\nx = "]"\n',
    'a = "x # [tool.sqlperf]"\n',
]


@pytest.mark.parametrize("text", CONFIGURES)
def test_a_file_that_configures_sqlperf_is_always_parsed(text):
    assert "sqlperf" in tomllib.loads(text)["tool"]  # the case is what it claims
    assert _may_configure_sqlperf(text)


@pytest.mark.parametrize("text", UNRELATED)
def test_an_unrelated_pyproject_is_not_parsed(text):
    assert "sqlperf" not in tomllib.loads(text).get("tool", {})
    assert not _may_configure_sqlperf(text)


def test_settings_found_through_a_dotted_key_under_tool(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool]\nsqlperf.select = ["SP101"]\n')
    assert load_settings(start=tmp_path).select == ["SP101"]


def test_an_unrelated_pyproject_leaves_the_defaults(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = [\n  "sqlperf",\n]\n')
    settings = load_settings(start=tmp_path)
    assert settings.select is None and settings.config_path is None
