"""The 112 call centre hears of every alert, update and cancel before callers ask (SPEC §6 b):
a signed JSON push per message to each configured endpoint, retried until acknowledged."""
