"""Distributed delivery of the log's units over NATS JetStream (docs/design/0005)."""
