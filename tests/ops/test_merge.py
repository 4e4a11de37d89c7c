from __future__ import annotations

from sopskit.format.tree import Comment, TreeMap
from sopskit.ops.merge import BASE_MARK, OURS_MARK, THEIRS_MARK, merge_trees, same


def t(*entries: tuple[object, object]) -> TreeMap:
    return TreeMap(list(entries))  # type: ignore[arg-type]


def test_disjoint_changes_additions_and_deletions_merge() -> None:
    base = t(("a", "1"), ("b", "2"), ("c", "3"))
    ours = t(("a", "1o"), ("b", "2"), ("c", "3"), ("o", "new"))
    theirs = t(("a", "1"), ("b", "2t"), ("x", "theirs-new"))  # deleted c, added x after b
    result = merge_trees([base], [ours], [theirs], input_format="json")
    assert result.conflicts == []
    assert result.branches[0] == t(("a", "1o"), ("b", "2t"), ("x", "theirs-new"), ("o", "new"))


def test_same_key_conflict_is_marked_in_the_tree() -> None:
    result = merge_trees([t(("a", "b"))], [t(("a", "o"))], [t(("a", "t"))], input_format="yaml")
    assert result.conflicts == ['["a"]']
    assert result.branches[0]["a"] == t((OURS_MARK, "o"), (BASE_MARK, "b"), (THEIRS_MARK, "t"))


def test_flat_formats_keep_ours_and_add_theirs_key() -> None:
    result = merge_trees([t(("A", "b"))], [t(("A", "o"))], [t(("A", "t"))], input_format="dotenv")
    assert result.branches[0] == t(("A", "o"), ("A__CONFLICT_THEIRS", "t"))


def test_types_are_compared_strictly_and_comments_follow_keys() -> None:
    assert not same(1, True) and not same(1, 1.0)
    base = t(("a", 1))
    ours = t((Comment(" note"), None), ("a", 1))
    theirs = t(("a", 1.0))
    result = merge_trees([base], [ours], [theirs], input_format="yaml")
    assert result.conflicts == []
    assert result.branches[0].entries == [(Comment(" note"), None), ("a", 1.0)]
