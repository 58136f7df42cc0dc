import pytest
from django.core.exceptions import ImproperlyConfigured

from shared_events.core.consumer import registry


def test_a_handler_for_an_unknown_event_type_fails_at_startup():
    with pytest.raises(ImproperlyConfigured, match="unknown event type 'testing.widget.exploded'"):
        registry.handles("testing.widget.exploded")(lambda event: None)


def test_two_handlers_for_one_event_type_fail_at_startup():
    def another(event):
        pass

    with pytest.raises(ImproperlyConfigured, match="two handlers for testing.widget.updated"):
        registry.handles("testing.widget.updated")(another)
    assert registry.handler_for("testing.widget.updated").__name__ == "widget_changed"
