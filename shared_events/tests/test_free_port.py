"""free_port never hands the same port out twice, even when the kernel offers it again."""

from shared_events.core import testing


class _KernelOffering:
    """A socket whose ephemeral port comes from a fixed sequence, as a kernel may repeat one."""

    offers: list[int] = []

    def __init__(self, *args, **kwargs):
        self.port = self.offers.pop(0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def bind(self, address):
        pass

    def getsockname(self):
        return ("127.0.0.1", self.port)


def test_a_port_offered_again_is_skipped(monkeypatch):
    monkeypatch.setattr(testing, "_handed_out", set())
    monkeypatch.setattr(testing.socket, "socket", _KernelOffering)
    _KernelOffering.offers = [40001, 40001, 40001, 40002]
    assert [testing.free_port(), testing.free_port()] == [40001, 40002]
