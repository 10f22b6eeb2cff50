"""smbsign over many captures on Spark: connections, findings, hosts and
the relay-target list as Parquet tables.

    spark-submit --master local[2] examples/spark/smbsign_job.py INPUT... OUTPUT
    spark-submit --master spark://head:7077 --archives smbsign-env.tar.gz#env \\
        examples/spark/smbsign_job.py hdfs:///captures/ hdfs:///smbsign/

INPUT is a directory (or any Hadoop-compatible URI: hdfs://, s3a://, …)
read recursively with Spark's `binaryFile` source; OUTPUT gets one Parquet
table per folder: `connections`, `findings`, `hosts`, `relay_targets`,
`files` (what each input gave, errors included).

How it runs, and why it scales:

1. Each capture is one row (`binaryFile`); `mapInArrow` scans it on an
   executor with the smbsign Python package (the Rust library, GIL
   released). An executor holds one capture and its reports at a time.
2. Relays and man-in-the-middle legs can sit in different captures. Each
   connection's link keys (its NTLM logons' proofs and server challenges,
   `ScanResult.link_keys`) go into a join: a capture sharing a key with
   the first capture (by path) that has it makes a candidate pair, and only
   those pairs are scanned again together
   (`scan_many` on the two captures' bytes) so that the library judges
   them with the same rules as `smbsign scan FILE...`. No process ever
   holds more than two captures.
3. A connection's findings are those of its own capture plus those the
   pair scans added (a `groupBy` over the connection's key).
4. Hosts are merged by address with sums (`groupBy`), and the relay-target
   list is the servers seen not requiring signing and never requiring it.

Secrets for verification: `--password USER:PASSWORD` (repeatable).
"""

import argparse
import json

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

import smbsign
from smbsign import _tables

KEY = ["file", "client", "server", "first_frame"]
PER_FILE_SCHEMA = "path string, result string"
PAIR_SCHEMA = "connection string"


def scan_files(passwords):
    """mapInArrow: each capture's bytes -> its scan result as JSON."""

    def scan(batches):
        import pyarrow as pa

        for batch in batches:
            paths, results = [], []
            for path, content in zip(batch.column("path").to_pylist(), batch.column("content").to_pylist()):
                try:
                    r = smbsign.scan(content, password=passwords, name=path)
                except smbsign.TruncatedCaptureError as e:
                    r = e.result  # what was read; the error is in r.files
                except smbsign.SmbsignError as e:
                    r = smbsign.ScanResult(
                        {
                            "connections": [],
                            "hosts": [],
                            "relay_targets": [],
                            "files": [{"name": path, "stats": None, "error": e.reason, "error_kind": "not-a-capture"}],
                        }
                    )
                data = r._d
                data["link_keys"] = r.link_keys
                paths.append(path)
                results.append(json.dumps(data))
            yield pa.RecordBatch.from_pydict({"path": paths, "result": results})

    return scan


def scan_pairs(passwords):
    """mapInArrow: two captures that share a link key, scanned together
    -> their connections (JSON), now with the findings across them."""

    def scan(batches):
        import pyarrow as pa

        for batch in batches:
            out = []
            rows = zip(*(batch.column(c).to_pylist() for c in ("a", "a_content", "b", "b_content")))
            for a, a_content, b, b_content in rows:
                r = smbsign.scan_many([(a, a_content), (b, b_content)], jobs=1, password=passwords)
                out.extend(json.dumps(c.to_dict()) for c in r.connections)
            yield pa.RecordBatch.from_pydict({"connection": out})

    return scan


def merge_findings(connections_json):
    """A connection seen in its own capture and in pair scans: its report
    with every finding any of them found, once each."""
    reports = [json.loads(c) for c in connections_json]
    base = reports[0]
    seen, findings = set(), []
    for r in reports:
        for f in r.get("findings", []):
            key = json.dumps(f, sort_keys=True)
            if key not in seen:
                seen.add(key)
                findings.append(f)
    base["findings"] = findings
    return json.dumps(base)


def run(spark, inputs, output, passwords):
    files = (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .load(list(inputs))
        .select("path", "content")
    )
    per_file = files.mapInArrow(scan_files(passwords), PER_FILE_SCHEMA).cache()

    parsed = per_file.select("path", F.from_json("result", "connections array<string>, link_keys array<array<string>>, files array<string>, hosts array<string>").alias("r"))
    # Each connection (as JSON), with its capture's link keys.
    own = parsed.select(
        "path",
        F.posexplode("r.connections").alias("i", "connection"),
        F.col("r.link_keys").alias("keys"),
    ).select("path", "connection", F.element_at("keys", F.col("i") + 1).alias("keys"))

    # Candidate pairs: a capture with a connection sharing a link key with
    # an earlier capture (by path) is paired with the first capture that
    # has that key, as the CLI's correlator pairs a logon with its first
    # sighting: n captures sharing a key make n - 1 pairs, not n².
    keyed = own.select("path", F.explode("keys").alias("key")).distinct()
    first = keyed.groupBy("key").agg(F.min("path").alias("a"))
    pairs = (
        keyed.join(first, on="key")
        .where(F.col("path") != F.col("a"))
        .select("a", F.col("path").alias("b"))
        .distinct()
    )
    content = files.select(F.col("path"), F.col("content"))
    paired = (
        pairs.join(content.withColumnRenamed("path", "a").withColumnRenamed("content", "a_content"), "a")
        .join(content.withColumnRenamed("path", "b").withColumnRenamed("content", "b_content"), "b")
    )
    across = paired.mapInArrow(scan_pairs(passwords), PAIR_SCHEMA)

    key_of = lambda col: F.struct(*[F.get_json_object(col, f"$.{k}").alias(k) for k in KEY])
    everything = (
        own.select(F.lit(0).alias("source"), "connection")
        .unionByName(across.select(F.lit(1).alias("source"), "connection"))
        .withColumn("key", key_of(F.col("connection")))
    )
    merge = F.udf(merge_findings, "string")
    connections_json = everything.groupBy("key").agg(
        merge(F.transform(F.array_sort(F.collect_list(F.struct("source", "connection"))), lambda s: s["connection"])).alias("connection")
    ).select("connection").cache()  # read by two tables

    def rows_of(table):
        def to_rows(batches):
            import pyarrow as pa

            schema = _tables.arrow_schema(table)
            for batch in batches:
                data = {"connections": [json.loads(c) for c in batch.column("connection").to_pylist()], "hosts": []}
                yield pa.RecordBatch.from_pylist(_tables.rows(data, table), schema=schema)

        return to_rows

    connections = connections_json.mapInArrow(rows_of("connections"), _tables.spark_schema("connections"))
    findings = connections_json.mapInArrow(rows_of("findings"), _tables.spark_schema("findings"))

    # Hosts: each capture's host rows, merged by address.
    host_rows = parsed.select(F.explode("r.hosts").alias("h")).select(
        F.get_json_object("h", "$.type").alias("type"),
        F.get_json_object("h", "$.address").alias("address"),
        *[
            F.get_json_object("h", f"$.{c}").cast("bigint").alias(c)
            for c in ("connections", "sessions", "signed_messages", "unsigned_messages")
        ],
        *[
            F.get_json_object("h", f"$.signing_observed.{s}").cast("bigint").alias(s)
            for s in ("required", "enabled", "disabled")
        ],
    )
    hosts = host_rows.groupBy("type", "address").agg(
        *[F.sum(c).alias(c) for c in ("connections", "sessions", "signed_messages", "unsigned_messages")],
        *[F.sum(s).alias(f"signing_{s}") for s in ("required", "enabled", "disabled")],
    ).withColumn(
        "relay_target",
        (F.col("type") == "server")
        & (F.col("signing_required") == 0)
        & (F.col("signing_enabled") + F.col("signing_disabled") > 0),
    )
    relay_targets = hosts.where("relay_target").select("address")
    outcomes = parsed.select(F.explode("r.files").alias("f")).select(
        F.get_json_object("f", "$.name").alias("name"),
        F.get_json_object("f", "$.error").alias("error"),
        F.get_json_object("f", "$.error_kind").alias("error_kind"),
        F.get_json_object("f", "$.stats.frames").cast("bigint").alias("frames"),
    )
    for name, frame in [
        ("connections", connections),
        ("findings", findings),
        ("hosts", hosts),
        ("relay_targets", relay_targets),
        ("files", outcomes),
    ]:
        frame.write.mode("overwrite").parquet(f"{output}/{name}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", nargs="+", help="directories or URIs of captures (read recursively)")
    parser.add_argument("output", help="directory or URI for the Parquet tables")
    parser.add_argument("--password", action="append", default=[], help="USER:PASSWORD, to verify signatures")
    args = parser.parse_args()
    spark = (
        SparkSession.builder.appName("smbsign")
        # One capture per Arrow batch: an executor holds one capture (two
        # for a pair scan) and its reports at a time.
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1")
        .getOrCreate()
    )
    # The joins and groupings shuffle little (keys, one row per connection):
    # a few partitions per core, not Spark's default 200 tasks of Python.
    if "spark.sql.shuffle.partitions" not in spark.sparkContext.getConf().toDebugString():
        spark.conf.set("spark.sql.shuffle.partitions", str(2 * spark.sparkContext.defaultParallelism))
    run(spark, args.input, args.output, args.password)
    spark.stop()


if __name__ == "__main__":
    main()
