"""Normalisers for comparing two encrypted files whose ciphertexts necessarily differ.

``data_layout`` keeps everything that both tools must agree on byte for byte (keys, order,
indentation, quoting, comments' placement, which values are encrypted and with which type
tag) and drops what legitimately differs: the random ciphertext/IV/tag of every ``ENC[...]``
value and the ``sops`` metadata block (key wrapping, timestamps, version and, between sops
3.11 and 3.13, the metadata key order; spec 7.2).
"""

from __future__ import annotations

import json
import re

_ENC = re.compile(r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:(\w+)\]")
_YAML_SOPS_BLOCK = re.compile(r"^sops:\n(?:[ ]+.*\n|\n)*", re.MULTILINE)


def mask_values(text: str) -> str:
    """Replace every ENC[...] string by ``ENC[<type>]``."""
    return _ENC.sub(lambda m: f"ENC[{m.group(1)}]", text)


def data_layout(data: bytes, fmt: str) -> str:
    text = mask_values(data.decode("utf-8", "surrogateescape"))
    if fmt == "yaml":
        return _YAML_SOPS_BLOCK.sub("", text)
    if fmt in ("json", "binary"):
        # (b) sops <=3.13.1 tags every JSON number float, 3.13.2 (sopskit) keeps ints: spec 8.2
        text = text.replace("ENC[int]", "ENC[number]").replace("ENC[float]", "ENC[number]")
        body = json.loads(text)
        body.pop("sops", None)
        return json.dumps(body, indent=1, ensure_ascii=False)
    if fmt == "dotenv":
        return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("sops_"))
    if fmt == "ini":
        return text.split("[sops]")[0].rstrip("\n")
    raise ValueError(fmt)


def metadata_keys(data: bytes, fmt: str) -> list[str]:
    """Every mapping key of the YAML metadata block, at every level, in file order."""
    assert fmt == "yaml"
    block = _YAML_SOPS_BLOCK.search(data.decode())
    assert block
    return re.findall(r"^[ -]*([a-z_]+):", block.group(0), re.MULTILINE)
