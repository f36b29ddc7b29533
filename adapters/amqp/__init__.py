"""Broker adapters: the two implementations of `axis.route.broker.BrokerPort`.

- `adapters.amqp.rabbit.RabbitBroker`: RabbitMQ through pika, made of `session`,
  `declarations`, `publishing` and `consuming` (the only pika importers).
- `adapters.amqp.memory.InProcessBroker`: in-process, for the embedded default and tests.
- `adapters.amqp.topology`: queue and exchange names, arguments, message format (no pika).
- `adapters.amqp.confirms`: delivery-tag bookkeeping of pipelined publisher confirms.

Nothing is imported here, so that choosing the in-process broker never loads pika.
"""
