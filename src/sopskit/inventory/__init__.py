"""Who can decrypt what: the secret inventory of a repository and the maturity report.

``collect`` walks the repository once (the policy loader: what a commit would hold), reads
every SOPS file's metadata without a key, and joins it with ``.sops.yaml`` environments, a
holders file, CODEOWNERS and Git history. ``maturity`` grades the result; ``render`` prints
it. Nothing here decrypts a value or prints one: key *names* and recipients are metadata.
"""
