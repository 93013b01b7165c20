"""Email alerts: routing (who gets what), the durable outbox, the messages, SMTP delivery."""
