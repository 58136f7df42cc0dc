"""The NATS user of polls_service may use consumers on exactly the streams its handlers read
(shared_events/core/transport/permissions.py): a handler on another stream would be refused."""

from shared_events.core.consumer.registry import subscriptions
from shared_events.core.transport.permissions import READS


def test_the_nats_permissions_name_the_streams_this_service_consumes():
    assert set(subscriptions()) == {producer.upper() for producer in READS["polls"]}
