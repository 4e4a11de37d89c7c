"""The key-type table (:mod:`sopskit.format.keytypes`) as the command line sees it.

``cli/`` builds its key flags (``--age``, ``--add-age``, ``groups add --age``) and reads their
environment variables from these rows; it imports them from ``ops`` because the CLI layer
talks to use cases, never to the format core, stores or backends directly.
"""

from __future__ import annotations

from sopskit.format.keytypes import KeyType, cli_order, key_type, key_types

__all__ = ["KeyType", "cli_order", "key_type", "key_types"]
