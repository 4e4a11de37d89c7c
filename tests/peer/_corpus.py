"""Tricky plaintext documents for the emitter comparison (sops decrypt vs sopskit decrypt).

Each entry is ``name -> text``. The YAML set aims at yaml.v3's scalar-style decisions and at
sops's comment placement; the JSON set at Go's ``encoding/json`` escaping and number forms.
Known differences are listed in ``KNOWN_YAML`` / ``KNOWN_JSON`` with the reason they are kept.
"""

from __future__ import annotations

YAML_CORPUS: dict[str, str] = {
    "bool-like-strings": 'a: "true"\nb: "yes"\nc: "no"\nd: "on"\ne: "off"\nf: "y"\ng: "n"\nh: "True"\n'
                         'i: "NULL"\nj: "~"\nk: "null"\nl: "Y"\nm: "OFF"\n',
    "bare-yaml11-bools": "a: yes\nb: no\nc: on\nd: Off\ne: y\nf: ~\ng: Null\n",
    "number-like-strings": 'a: "1"\nb: "1.5"\nc: "0x1F"\nd: "1e3"\ne: "0755"\nf: ".inf"\ng: "1_000"\n'
                           'h: "12:30"\ni: "+1"\nj: "-"\nk: "1:20:30"\nl: "0b101"\nm: "-.5"\n',
    "date-like-strings": 'a: "2024-01-01"\nd: "2024-1-1"\ne: "2024-01-01T10:00:00Z"\n',
    "timestamps": "b: 2024-01-01 10:00:00\nc: 2024-01-01T10:00:00.123456789+02:00\n"
                  "e: 2001-12-14t21:59:43.10-05:00\nf: 2024-02-29\ng: 2024-01-01T23:59:59.000001Z\n",
    "negative-zero": "d: -0\n",
    "ints": "a: 9223372036854775807\nb: -9223372036854775808\nc: 0\ne: 007\nf: 0b101\n"
            "g: 0x7fffffffffffffff\nh: 0o17\ni: +42\nj: 1_000_000\n",
    "floats": "a: 3.14159265358979\nb: 1e21\nc: 1e-7\nd: 100000000000000000000.0\ne: -0.0\nf: .nan\n"
              "g: 1.0e+6\nh: 123456789.123\ni: 1.0\nj: .inf\nk: -.Inf\nl: 1234567.0\nm: 0.1\n",
    "special-float-strings": 'a: ".NaN"\nb: "-.Inf"\nc: "1."\nd: ".5"\n',
    "spaces": 'a: " lead"\nb: "trail "\nc: "  "\nd: "a  b"\ne: "\\ttab"\nf: "x\\ty"\n',
    "colons": 'a: "x: y"\nb: "x:y"\nc: "http://x"\nd: ":start"\ne: "end:"\nf: "::"\n',
    "hashes": 'a: "x #y"\nb: "x#y"\nc: "#start"\nd: "#"\n',
    "quotes": 'a: "it\'s"\nb: \'say "hi"\'\nc: "\\"q\\""\nd: "\'"\ne: "\'\'"\n',
    "indicators": 'a: "- x"\nb: "? x"\nc: "[x]"\nd: "{x}"\ne: "*x"\nf: "&x"\ng: "!x"\nh: "|x"\n'
                  'i: ">x"\nj: "%x"\nk: "@x"\nl: "`x"\nm: ","\nn: "x,y"\no: "-"\np: "---"\nq: "..."\n'
                  'r: "-x"\ns: "?"\nt: "x]"\n',
    "unicode": 'a: "héllo"\nb: "日本語"\nc: "emoji 😀"\nd: "\\u00a0nbsp"\ne: "zero\\u200bwidth"\n'
               'f: "\\x07bell"\ng: "\\ufeffbom"\nh: "x\\ufeffy"\ni: "\\ufffe"\nj: "ü ö"\n',
    "line-separators": 'e: "\\u2028ls"\nf: "a\\u2029b"\ng: "x\\u0085y"\nh: "a\\u2028     b"\n'
                       'l:\n  - "a\\u2028b"\nm:\n  n: "x\\u2028 y"\n',
    "control-chars": 'a: "\\x00nul"\nb: "\\x1besc"\nc: "\\x7fdel"\nd: "\\r\\n"\ne: "\\x08\\x0b\\x0c"\n',
    "block-scalars": "a: |\n  line1\n  line2\nb: |-\n  no newline\nc: |+\n  keep\n\nd: |2\n    indented\n"
                     "e: >\n  folded\n  text\nf: >-\n  folded strip\n",
    "multi-line-quoted": 'a: "x\\n\\ny"\nb: "\\nlead"\nc: "trail\\n\\n"\nd: " sp\\nx"\ne: "x \\ny"\n'
                         'f: "x\\ty\\nz"\ng: "\\n"\nh: "a\\n  b\\n"\n',
    "literal-in-list": 'l:\n  - "a\\nb\\n"\n  - "c\\nd"\n  - k: "e\\nf\\n"\n',
    "long-lines": 'a: "' + "word " * 40 + 'end"\nb: ' + "x" * 300 + "\n",
    "long-key": ("k" * 130) + ": v\n" + ("q" * 128) + ": w\n" + ("é" * 65) + ": 1\n",
    "long-key-collections": ("k" * 130) + ":\n  x: 1\n  y: 2\n" + ("l" * 130) + ":\n  - 1\n"
                            "n:\n  " + ("m" * 130) + ": {}\n# c\n" + ("p" * 130) + ': "a\\nb\\n"\n',
    "multi-line-keys": '"a\\nb": 1\n"c\\u2028d": 2\n',
    "empty-values": 'a: {}\nb: []\nc: ""\nd: null\ne: ~\nf:\ng: \'\'\n',
    "nested-lists": "a:\n  - b: 1\n    c: 2\n  - - x\n    - y\n  - []\n  - {}\n  - d:\n      - e: f\n"
                    "  - - - deep\n",
    "anchors-aliases": "base: &b\n  x: 1\nref: *b\nlist:\n  - &s str\n  - *s\n",
    "merge-key": "base: &b\n  x: 1\nm:\n  <<: *b\n  y: 2\n",
    "merge-string-value": 'a: "<<"\nl:\n  - "<<"\n',
    "odd-keys": '"quoted key": 1\n"k: colon": 2\n"123": 3\n"true": 4\n"": 5\n"a b": 6\n"- dash": 7\n'
                '"#h": 8\n"null": 9\n',
    "comments-everywhere": "# head1\n\n# head2\na: 1\n# between\nb:\n  # inner head\n  c: 2\n"
                           "  # inner foot\n# foot b\nl:\n  # lh\n  - 1\n  - 2\n  # lf\n# end1\n# end2\n",
    "comments-in-nested-list": "a:\n  - x: 1\n    # mid\n    y: 2\n  # between items\n  - z: 3\n",
    "comment-without-space": "#nospace\na: 1\n#x\n",
    "comment-only-map-value": "a:\n  # only a comment\nb: 1\n",
    "multi-document": "# d1\na: 1\n---\n# d2\nb: 2\n---\nc: [1, 2]\n",
    "flow-collections": 'a: [1, "two", {x: y}]\nb: {k: v, l: [1]}\n',
    "unindented-list": "l:\n- a\n- b\n",
    "deep-nesting": "a:\n  b:\n    c:\n      d:\n        e: deep\n",
    "unencrypted-suffix": "pw_unencrypted: clear\nsub_unencrypted:\n  x: 1\nother: 2\n",
    "backslashes": 'a: "C:\\\\path\\\\x"\nb: \'back\\slash\'\n',
    "document-end-after-keep": "a: |+\n  keep\n\n",
    "top-level-empty-map": "{}\n",
}

JSON_CORPUS: dict[str, str] = {
    "escapes": '{"a": "x<y&z>", "b": "\\u2028\\u2029", "c": "tab\\tnl\\ncr\\r", "d": "\\u0001\\u001f",'
               ' "e": "quote\\" back\\\\ slash/", "f": "\\u007f"}',
    "unicode": '{"a": "héllo", "b": "日本語", "c": "😀", "d": "\\ud83d\\ude00", "e": "\\ufeff"}',
    "numbers": '{"a": 1, "b": -0, "c": 1.5, "d": 1e21, "e": 1e-7, "f": 123456789012, "g": 0.1,'
               ' "h": 1E+2, "i": -1.25e-10, "j": 100000000000000000000, "k": 1.0}',
    "nesting": '{"a": {"b": {"c": [1, [2, [3, {}]], []]}}, "e": {}, "f": [], "g": [{}]}',
    "scalars": '{"t": true, "f": false, "n": null, "s": "", "l": [null, true, ""]}',
    "keys": '{"": 1, "a b": 2, "k:colon": 3, "ü": 4, "<&>": 5}',
}
