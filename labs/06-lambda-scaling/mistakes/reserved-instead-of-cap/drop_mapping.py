"""Start over: delete the function's mapping (the earlier one had a cap already)."""

import time

import boto3

lam = boto3.client("lambda")
for mapping in lam.list_event_source_mappings(FunctionName="lab06-ingest")[
        "EventSourceMappings"]:
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
for _ in range(40):
    if not [m for m in lam.list_event_source_mappings(FunctionName="lab06-ingest")[
            "EventSourceMappings"] if m["State"] != "Deleting"]:
        break
    time.sleep(0.5)
