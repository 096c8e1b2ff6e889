import socket

import pytest

from tests import conftest


@pytest.mark.parametrize(
    "family, address, allowed",
    [
        (socket.AF_INET, ("127.0.0.1", 80), True),
        (socket.AF_INET, ("127.8.9.10", 80), True),
        (socket.AF_INET6, ("::1", 80, 0, 0), True),
        (socket.AF_INET, ("192.0.2.1", 80), False),  # TEST-NET-1: nothing is ever sent, the guard raises first
        (socket.AF_INET, ("10.0.0.1", 5432), False),
        (socket.AF_INET6, ("2001:db8::1", 443, 0, 0), False),
        (socket.AF_INET, ("example.org", 80), False),
        (socket.AF_UNIX, "/tmp/.s.PGSQL.5432", True),
    ],
)
def test_guard_allows_only_loopback(family: int, address: object, allowed: bool) -> None:
    if allowed:
        conftest.check_address(family, address)
    else:
        with pytest.raises(ConnectionRefusedError):
            conftest.check_address(family, address)
        conftest._violations.clear()  # the case itself is the violation under test


def test_guard_is_installed_on_every_socket() -> None:
    assert socket.socket.connect is conftest._guarded_connect
    assert socket.socket.connect_ex is conftest._guarded_connect_ex
