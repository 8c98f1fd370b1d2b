"""A Kinesis consumer of lab11-orders: every shard, at its own pace, from its own checkpoint.

    python consumer.py billing              # or: analytics
    python consumer.py billing --replay     # after a bug fix: rebuild billing from TRIM_HORIZON
    options: --batch N (records per GetRecords, default 25), --pause S (between reads)

Each consumer keeps its state in its own SQLite file, `<name>.db`:
    handled      one row per record handled. The tutor counts how often each record was
                 handled, so keep it a plain INSERT (no UNIQUE, no INSERT OR IGNORE).
    checkpoints  per shard, the sequence number of the last record handled.
"""

import argparse
import json
import os
import sqlite3
import time
from pathlib import Path

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab11-")
STREAM = f"{PREFIX}orders"
WORKSPACE = Path(os.environ.get("TUTOR_LAB_WORKSPACE", "."))

kinesis = boto3.client("kinesis")


def open_db(name: str) -> sqlite3.Connection:
    conn = sqlite3.connect(WORKSPACE / f"{name}.db", timeout=10)
    conn.execute("CREATE TABLE IF NOT EXISTS handled (shard_id TEXT, sequence_number TEXT,"
                 " order_id TEXT, type TEXT, seq INTEGER, charge_cents INTEGER,"
                 " handled_at REAL, pid INTEGER)")
    conn.execute("CREATE TABLE IF NOT EXISTS checkpoints (shard_id TEXT PRIMARY KEY,"
                 " sequence_number TEXT NOT NULL)")
    return conn


def charge(name: str, event: dict) -> int:
    """What billing charges for an event, in cents (analytics charges nothing)."""
    if name != "billing":
        return 0
    # Billing's rule: charge the order's amount once, when it is paid.
    return event["amount_cents"] if event["type"] == "paid" else 0


SHARED = sqlite3.connect(WORKSPACE / "checkpoints.db", timeout=10)
SHARED.execute("CREATE TABLE IF NOT EXISTS checkpoints (shard_id TEXT PRIMARY KEY,"
               " sequence_number TEXT NOT NULL)")


def start_iterator(conn: sqlite3.Connection, shard_id: str) -> str:
    """Where this consumer goes on reading a shard: right after the stream's checkpoint."""
    row = SHARED.execute("SELECT sequence_number FROM checkpoints WHERE shard_id = ?",
                       (shard_id,)).fetchone()
    if row:
        return kinesis.get_shard_iterator(
            StreamName=STREAM, ShardId=shard_id, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
            StartingSequenceNumber=row[0])["ShardIterator"]
    # Never read this shard before: from the oldest record the stream still keeps.
    return kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard_id,
                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]


def handle(conn: sqlite3.Connection, name: str, shard_id: str, records: list[dict]) -> None:
    """The rows of a batch and the checkpoint after it, in ONE transaction: a crash keeps
    both or neither, so a restarted consumer neither loses nor repeats a record."""
    if not records:
        return
    with conn:
        for record in records:
            event = json.loads(record["Data"])
            conn.execute("INSERT INTO handled VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (shard_id, record["SequenceNumber"], event["order_id"],
                          event["type"], event["seq"], charge(name, event), time.time(),
                          os.getpid()))
    with SHARED:  # "the" checkpoint of the stream, one place for everybody
        SHARED.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?)",
                       (shard_id, records[-1]["SequenceNumber"]))


def replay(conn: sqlite3.Connection) -> None:
    """Forget this consumer's results and position: every shard is read again from
    TRIM_HORIZON, and the (fixed) code rebuilds the results. Other consumers are not
    touched: their state is in their own file."""
    with conn:
        conn.execute("DELETE FROM handled")
        conn.execute("DELETE FROM checkpoints")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=["billing", "analytics"])
    parser.add_argument("--replay", action="store_true")
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--pause", type=float, default=0.5)
    args = parser.parse_args()
    conn = open_db(args.name)
    if args.replay:
        replay(conn)
    shards = [s["ShardId"] for s in kinesis.list_shards(StreamName=STREAM)["Shards"]]
    iterators = {shard_id: start_iterator(conn, shard_id) for shard_id in shards}
    while iterators:
        for shard_id in list(iterators):
            reply = kinesis.get_records(ShardIterator=iterators[shard_id], Limit=args.batch)
            handle(conn, args.name, shard_id, reply["Records"])
            if reply.get("NextShardIterator"):
                iterators[shard_id] = reply["NextShardIterator"]
            else:  # the shard was closed (resharding) and fully read
                del iterators[shard_id]
        time.sleep(args.pause)


if __name__ == "__main__":
    main()
