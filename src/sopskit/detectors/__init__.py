"""One vocabulary for "is this text a secret, a placeholder or a reference?".

The scanner (``scan/``) and the policy checks (``policy/``) are siblings in the layer contract
and may not import each other, yet both must answer the same questions about a value and a key:
is ``changeme`` a credential, is ``op://vault/item/field`` a secret or a pointer to one, does
``secretName`` hold a secret or name one. Before this package each answered with its own word
lists and they disagreed (``admin`` was filler to the scanner and a credential to the policy;
``op://...`` the other way round). The words, reference syntaxes and shape rules live here once;
each caller keeps only what depends on its own context (the scanner's entropy gates and code
shapes, the policy's key-by-key reading of parsed YAML). ``docs/guardrails.md`` ("One
vocabulary") lists each decision.

Pure text predicates: no files, no keys, no decryption (``sopskit.keys`` is out of reach by
contract).
"""
