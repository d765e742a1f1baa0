"""Each service's migration history is one line: a single head, so `kinerja migrate` has one place to go.
Two branches landing migrations on the same service must re-point one `down_revision`; this says so at once."""
import pytest
from alembic.script import ScriptDirectory

from runtime.migrate import alembic_config
from runtime.service import SERVICES


@pytest.mark.parametrize("name", SERVICES)
def test_one_head_per_service(name):
    script = ScriptDirectory.from_config(alembic_config(name, "sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()
    assert len(script.get_bases()) == 1, script.get_bases()
