"""The local broker's cluster ids are valid KRaft ids the storage tool accepts as an argument."""
import base64

from runtime.broker import new_cluster_id


def test_cluster_ids_are_16_bytes_and_never_look_like_an_option():
    for _ in range(2000):  # about 1 in 64 raw ids would start with "-"
        cluster_id = new_cluster_id()
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_a_clusters_brokers_share_one_quorum_and_id_and_replicate_three_ways(tmp_path):
    from runtime.broker import Cluster
    cluster = Cluster.at(tmp_path, [(9101, 9201), (9102, 9202), (9103, 9203)])
    assert cluster.bootstrap == "127.0.0.1:9101,127.0.0.1:9102,127.0.0.1:9103"
    configs = []
    for broker in cluster.brokers:
        broker.home.mkdir(parents=True)
        lines = broker._write_config().read_text().splitlines()
        configs.append(dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")))
    assert [c["node.id"] for c in configs] == ["1", "2", "3"]
    assert {c["controller.quorum.voters"] for c in configs} == {"1@127.0.0.1:9201,2@127.0.0.1:9202,3@127.0.0.1:9203"}
    assert len({b.cluster_id for b in cluster.brokers}) == 1
    assert all(c["min.insync.replicas"] == "2" and c["default.replication.factor"] == "3"
               and c["offsets.topic.replication.factor"] == "3" for c in configs)


def test_topics_replicate_as_the_environment_says_and_once_by_default():
    from runtime.kafka import topic_settings
    assert topic_settings({}) == (1, {})
    assert topic_settings({"KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2"}) == \
        (3, {"min.insync.replicas": "2"})


def test_topics_get_the_partitions_the_environment_says_and_three_by_default():
    import pytest
    from runtime.kafka import topic_partitions
    assert topic_partitions({}) == 3
    assert topic_partitions({"KAFKA_PARTITIONS": "24"}) == 24
    with pytest.raises(ValueError, match="KAFKA_PARTITIONS"):
        topic_partitions({"KAFKA_PARTITIONS": "0"})
