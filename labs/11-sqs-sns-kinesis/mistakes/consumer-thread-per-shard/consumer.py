"""A Kinesis consumer of lab11-orders with one thread per shard (as the API docs suggest).

    python consumer.py billing|analytics [--replay] [--batch N] [--pause S]
"""

import argparse
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import boto3

PREFIX = os.environ.get("TUTOR_LAB_PREFIX", "lab11-")
STREAM = f"{PREFIX}orders"
WORKSPACE = Path(os.environ.get("TUTOR_LAB_WORKSPACE", "."))

kinesis = boto3.client("kinesis")


def connect(name: str) -> sqlite3.Connection:
    conn = sqlite3.connect(WORKSPACE / f"{name}.db", timeout=30)
    conn.execute("CREATE TABLE IF NOT EXISTS handled (shard_id TEXT, sequence_number TEXT,"
                 " order_id TEXT, type TEXT, seq INTEGER, charge_cents INTEGER,"
                 " handled_at REAL, pid INTEGER)")
    conn.execute("CREATE TABLE IF NOT EXISTS checkpoints (shard_id TEXT PRIMARY KEY,"
                 " sequence_number TEXT NOT NULL)")
    return conn


def charge(name: str, event: dict) -> int:
    return event["amount_cents"] if name == "billing" and event["type"] == "paid" else 0


def read_shard(name: str, shard_id: str, batch: int, pause: float) -> None:
    conn = connect(name)
    row = conn.execute("SELECT sequence_number FROM checkpoints WHERE shard_id = ?",
                       (shard_id,)).fetchone()
    where = ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": row[0]}
             if row else {"ShardIteratorType": "TRIM_HORIZON"})
    iterator = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard_id,
                                          **where)["ShardIterator"]
    while iterator:
        reply = kinesis.get_records(ShardIterator=iterator, Limit=batch)
        if reply["Records"]:
            with conn:
                for record in reply["Records"]:
                    event = json.loads(record["Data"])
                    conn.execute("INSERT INTO handled VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                 (shard_id, record["SequenceNumber"], event["order_id"],
                                  event["type"], event["seq"], charge(name, event),
                                  time.time(), os.getpid()))
                conn.execute("INSERT INTO checkpoints VALUES (?, ?) ON CONFLICT(shard_id) "
                             "DO UPDATE SET sequence_number = excluded.sequence_number",
                             (shard_id, reply["Records"][-1]["SequenceNumber"]))
        iterator = reply.get("NextShardIterator")
        time.sleep(pause)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--replay", action="store_true")
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--pause", type=float, default=0.5)
    args = parser.parse_args()
    conn = connect(args.name)
    if args.replay:
        with conn:
            conn.execute("DELETE FROM handled")
            conn.execute("DELETE FROM checkpoints")
    conn.close()
    threads = [threading.Thread(target=read_shard, args=(args.name, s["ShardId"], args.batch,
                                                         args.pause), daemon=True)
               for s in kinesis.list_shards(StreamName=STREAM)["Shards"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
