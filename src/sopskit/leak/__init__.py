"""Leak response: from "a value leaked" or "a key leaked" to a closed incident.

Use cases over the shared git plumbing (:mod:`sopskit.gitio`), the SOPS document helpers
(:mod:`sopskit.ops.document`) and the cluster key workflow. A secret value is held in memory
only while searching; everything kept or shown is a keyed fingerprint (HMAC-SHA256 with a
per-incident random key stored in the incident record).
"""
