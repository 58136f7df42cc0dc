"""The bench's own Django app: the ballot benchmark's ceiling endpoint and the rows it inserts.
Installed only by the bench's settings (tests/bench/settings.py), never by a service."""
