"""The local broker's cluster ids are valid KRaft ids the storage tool accepts as an argument."""
import base64

from runtime.broker import new_cluster_id


def test_cluster_ids_are_16_bytes_and_never_look_like_an_option():
    for _ in range(2000):  # about 1 in 64 raw ids would start with "-"
        cluster_id = new_cluster_id()
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
