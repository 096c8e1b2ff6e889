"""CAP 1.2 (OASIS Common Alerting Protocol): what we publish and what we accept.

build.py makes our alerts into CAP XML objects; ingest.py reads untrusted CAP into drafts."""

NS = "urn:oasis:names:tc:emergency:cap:1.2"
