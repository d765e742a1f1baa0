"""Request bodies nested deeper than the platform ever sends are refused before they are parsed."""
import json

import pytest

from runtime.errors import Malformed
from runtime.web import MAX_JSON_DEPTH, check_json_depth


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_bodies_up_to_the_limit_pass_and_deeper_ones_are_malformed():
    check_json_depth(_nested(MAX_JSON_DEPTH))
    check_json_depth(json.dumps({"a": [{"b": [1, 2, {"c": None}]}] * 500}))  # many brackets, shallow
    for body in (_nested(MAX_JSON_DEPTH + 1), _nested(100_000), '{"a":' * 100_000 + "1" + "}" * 100_000):
        with pytest.raises(Malformed, match="nests deeper"):
            check_json_depth(body)
        with pytest.raises(Malformed):
            check_json_depth(body.encode())


def test_brackets_inside_strings_do_not_count():
    check_json_depth(json.dumps({"note": "[" * 10_000, "quoted": '\\"[[[' * 1000}))
    check_json_depth(json.dumps(["\\", "[" * 50, "\\\"[" * 50]))  # escaped backslashes and quotes


def test_an_unterminated_string_counts_its_brackets():
    with pytest.raises(Malformed):  # not JSON either way: refused before the parser sees it
        check_json_depth('["' + "[" * 10_000)
