"""A JSON column's value is read as the standard library reads it, by the platform's codec where they agree."""
import json

import pytest

from runtime.db import json_loads

DOCUMENTS = [
    '{"day_version": 3, "punch_ids": ["0f6b3c1e-8a3b-4f7e-9c55-3d1f0e2b7a11"], "entry_ids": []}',
    '[1.5, -0.0, 1e-7, 2E+3, 0.1, 9223372036854775807, -9223372036854775808, 18446744073709551615]',
    '{"nip": "198001012006041001", "name": "Siti \\u00e9 \\"quoted\\" \\\\ back", "nested": {"a": [null, true, false]}}',
    '{"a": 1, "a": 2}',
    '{"big": 123456789012345678901234567890, "negative": -98765432109876543210}',
    '{"id": 1234567890123456789}',
    '"\\ud800"',
    '[1e400, -1e400]',
    '{"f": 0.30000000000000004, "g": 1.7976931348623157e308, "h": 5e-324}',
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_a_json_column_reads_as_the_standard_library_reads_it(text):
    """Text and bytes (SQLite and psycopg give either) decode to the same values and types as `json.loads`: integers
    beyond 64 bits stay integers, a lone surrogate and numbers beyond a double's range are read all the same."""
    expected = json.loads(text)
    for given in (text, text.encode()):
        value = json_loads(given)
        assert value == expected
        assert json.dumps(value) == json.dumps(expected)  # same types: an int stays an int, a float a float


def test_text_that_is_not_json_is_refused():
    with pytest.raises(ValueError):
        json_loads(b"{not json")
