"""The finder of system programs: the list is read, a missing program skips locally and fails
where CI is set."""

from __future__ import annotations

import pytest

from tests.system import system_packages, system_program


def test_the_list_names_each_program_and_its_package():
    table = system_packages()
    assert table["java"] == ("openjdk-17-jre-headless", None)
    assert table["pg_ctl"] == ("postgresql", "/usr/lib/postgresql/*/bin/pg_ctl")
    assert set(table) == {"java", "redis-server", "chromium", "pg_ctl"}


def test_a_missing_program_skips_locally_and_fails_in_ci(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="run scripts/install-system-packages"):
        system_program("redis-server")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match=r"Debian package redis-server"):
        system_program("redis-server")
