"""The metric names the services export, read from their source, for the checks of queries that name them."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DECLARED = re.compile(r'(?:Counter|Histogram|Gauge|GaugeMetricFamily)\(\s*"(kinerja_[a-z_]+)"')


def _base(name: str) -> str:
    return re.sub(r"_(total|bucket|count|sum)$", "", name)


def exported_metrics() -> set[str]:
    """Every `kinerja_*` metric a service declares (without the _total/_bucket/_count/_sum suffixes)."""
    source = "".join(p.read_text() for p in (ROOT / "services").rglob("*.py"))
    return {_base(name) for name in DECLARED.findall(source)}


def metric_names(expr: str) -> set[str]:
    """The `kinerja_*` metrics a PromQL expression queries (without suffixes)."""
    return {_base(name) for name in re.findall(r"\b(kinerja_[a-z_]+)", expr)}
